"""PostgreSQL for the test runs, with the two roles a production installation has.

``TEST_DATABASE_URL`` is the cluster administrator's connection (a superuser: it makes
roles and schemas). Each schema is owned by ``onramp_owner``, which builds the tables as
the migrations would; the app under test connects as ``onramp_app``, which owns nothing
and so cannot DROP, TRUNCATE, ALTER or disable the triggers of any table
(docs/database-roles.md). A test that needs more power than the app has fails loudly,
unless it asks for the owner with ``as_owner``.

Roles belong to the whole cluster, which other databases share: they are made when
missing and never dropped. The roles log in without a password, as the cluster's
``pg_hba.conf`` allows on CI; elsewhere give them one in a ``~/.pgpass`` file.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from app.config import normalise_database_url
from app.extensions import db

OWNER_ROLE = "onramp_owner"
APP_ROLE = "onramp_app"

# The owner's grants to the app role: what the app does with rows, and nothing else. As
# default privileges they cover every table the owner creates later (docs/database-roles.md).
_SCHEMA_GRANTS = [
    "GRANT USAGE ON SCHEMA {schema} TO {app}",
    "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema} "
    "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app}",
    "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema} "
    "GRANT USAGE, SELECT ON SEQUENCES TO {app}",
]


def admin_url() -> str | None:
    """The administrator's connection, or None when the tests run on SQLite."""
    return os.environ.get("TEST_DATABASE_URL") or None


def role_url(role: str, schema: str, database: str | None = None) -> str:
    """The URL that connects as ``role`` to the test database (or ``database`` on the same
    cluster), in ``schema``."""
    base = admin_url()
    if base is None:
        raise RuntimeError("TEST_DATABASE_URL is not set: the tests run on SQLite")
    url = make_url(normalise_database_url(base)).set(username=role, password=None)
    if database is not None:
        url = url.set(database=database)
    if schema != "public":
        url = url.update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@contextmanager
def _as_admin(database: str | None = None, autocommit: bool = False) -> Iterator[Connection]:
    base = admin_url()
    if base is None:
        raise RuntimeError("TEST_DATABASE_URL is not set: the tests run on SQLite")
    url = make_url(normalise_database_url(base))
    if database is not None:
        url = url.set(database=database)
    # CREATE DATABASE cannot run inside a transaction.
    isolation = "AUTOCOMMIT" if autocommit else "READ COMMITTED"
    engine = create_engine(url, poolclass=NullPool, isolation_level=isolation)
    try:
        with engine.begin() as connection:
            yield connection
    finally:
        engine.dispose()


@functools.cache
def ensure_roles() -> None:
    """Make the owner and app roles unless they exist (once per test process)."""
    with _as_admin() as connection:
        for role in (OWNER_ROLE, APP_ROLE):
            # Another test process (or another database's) may make it at the same moment.
            connection.execute(
                text(
                    "DO $$ BEGIN "
                    f"CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS; "
                    "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; "
                    "END $$"
                )
            )


def prepare_schema(schema: str) -> None:
    """Drop ``schema`` with everything in it and make it again, empty and the owner's;
    the app role may use whatever the owner creates there, rows only."""
    ensure_roles()
    with _as_admin() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {schema} AUTHORIZATION {OWNER_ROLE}"))
        for grant in _SCHEMA_GRANTS:
            connection.execute(text(grant.format(schema=schema, owner=OWNER_ROLE, app=APP_ROLE)))


def fresh_database(name: str) -> None:
    """Drop database ``name`` and make it again as docs/database-roles.md sets one up: the
    owner role owns it and its ``public`` schema; the app role may use rows only."""
    ensure_roles()
    with _as_admin(autocommit=True) as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}" OWNER {OWNER_ROLE}'))
    with _as_admin(name) as connection:
        connection.execute(text(f"ALTER SCHEMA public OWNER TO {OWNER_ROLE}"))
        connection.execute(text("REVOKE CREATE ON SCHEMA public FROM PUBLIC"))
        connection.execute(text(f'REVOKE ALL ON DATABASE "{name}" FROM PUBLIC'))
        connection.execute(text(f'GRANT CONNECT ON DATABASE "{name}" TO {APP_ROLE}'))
        for grant in _SCHEMA_GRANTS:
            connection.execute(text(grant.format(schema="public", owner=OWNER_ROLE, app=APP_ROLE)))


def drop_database(name: str) -> None:
    with _as_admin(autocommit=True) as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def empty_tables(schema: str, tables: list[str]) -> bool:
    """Empty ``tables`` between tests, past the ledger's guard against being emptied (only
    the cluster's administrator can set triggers aside this way); False if one is missing."""
    names = ", ".join(f'"{schema}"."{name}"' for name in tables)
    with _as_admin() as connection:
        present = connection.execute(
            text("SELECT count(*) FROM pg_tables WHERE schemaname = :s AND tablename = ANY(:t)"),
            {"s": schema, "t": tables},
        ).scalar_one()
        if present < len(tables):
            return False
        connection.execute(text("SET LOCAL session_replication_role = replica"))
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        return True


@contextmanager
def as_owner(app: Flask) -> Iterator[Connection]:
    """A transaction with the powers of whoever owns the app's tables (DDL, dropping
    triggers): on PostgreSQL the role its migrations run as; SQLite has no roles."""
    owner_url = app.config.get("MIGRATION_DATABASE_URL")
    if not owner_url:
        with app.app_context(), db.engine.begin() as connection:
            yield connection
        return
    engine = create_engine(owner_url, poolclass=NullPool)
    try:
        with engine.begin() as connection:
            yield connection
    finally:
        engine.dispose()


def build_tables(app: Flask) -> None:
    """Create every table of the models, as their owner."""
    with as_owner(app) as connection:
        db.metadata.create_all(connection)

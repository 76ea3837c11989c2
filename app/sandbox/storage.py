"""The sandbox's own storage: its tables, in a database Onramp never opens.

The sandbox plays a third-party platform, so it keeps its data as one would: in a
database of its own (``SANDBOX_DATABASE_URL``, by default ``instance/sandbox.db``),
outside Onramp's metadata and migrations. A toy platform with two tables of
short-lived tokens needs no migration history: it creates its tables when it starts,
and rebuilds one whose columns are not the ones it declares now (a developer's
``instance/sandbox.db`` from an older version), losing only throwaway tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from flask import Flask, current_app, g
from sqlalchemy import DateTime, Dialect, Engine, MetaData, create_engine, inspect
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import NullPool
from sqlalchemy.schema import CreateTable
from sqlalchemy.types import TypeDecorator

from app.config import normalise_database_url

EXTENSION = "sandbox_storage"
_SESSION = "sandbox_db_session"


class SandboxBase(DeclarativeBase):
    """The sandbox's tables, on a MetaData of their own (not Onramp's ``db.metadata``)."""

    metadata = MetaData(
        naming_convention={"uq": "uq_%(table_name)s_%(column_0_name)s", "pk": "pk_%(table_name)s"}
    )


def utcnow() -> datetime:
    """The time now, timezone-aware in UTC."""
    return datetime.now(UTC)


class UTCTimestamp(TypeDecorator[datetime]):
    """A UTC time that comes back timezone-aware from SQLite too (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass(frozen=True)
class Storage:
    """One app's connection to the sandbox's database."""

    engine: Engine
    sessions: sessionmaker[Session]


def database_url(app: Flask) -> str:
    """SANDBOX_DATABASE_URL, else a SQLite file beside Onramp's in the instance folder."""
    url = app.config.get("SANDBOX_DATABASE_URL") or (
        f"sqlite:///{Path(app.instance_path) / 'sandbox.db'}"
    )
    return normalise_database_url(str(url))


def init_storage(app: Flask) -> Storage:
    """Connect ``app`` to the sandbox's database and create its tables if they are missing."""
    url = database_url(app)
    # A SQLite connection per session: nothing held open between requests or tests.
    engine = create_engine(url, poolclass=NullPool if url.startswith("sqlite") else None)
    create_tables(engine)
    # gunicorn may fork workers after this: each opens connections of its own.
    engine.dispose()
    storage = Storage(engine, sessionmaker(engine))
    app.extensions[EXTENSION] = storage
    app.teardown_appcontext(_close_session)
    return storage


def create_tables(engine: Engine) -> None:
    """Create the sandbox's tables unless they exist; safe when several workers start at once.

    The tables are those app/sandbox/tables.py declared on SandboxBase: the package
    imports it before anything calls this. A table left by an older sandbox, with
    other columns, is dropped and created afresh.
    """
    with engine.begin() as connection:
        found = inspect(connection)
        for table in reversed(SandboxBase.metadata.sorted_tables):
            if not found.has_table(table.name):
                continue
            columns = {column["name"] for column in found.get_columns(table.name)}
            if columns != set(table.columns.keys()):
                table.drop(connection, checkfirst=True)
        for table in SandboxBase.metadata.sorted_tables:
            connection.execute(CreateTable(table, if_not_exists=True))


def session() -> Session:
    """This app context's session on the sandbox's database, closed when the context ends."""
    if _SESSION not in g:
        storage: Storage = current_app.extensions[EXTENSION]
        setattr(g, _SESSION, storage.sessions())
    found: Session = getattr(g, _SESSION)
    return found


def _close_session(_error: BaseException | None) -> None:
    opened: Session | None = g.pop(_SESSION, None)
    if opened is not None:
        opened.close()

"""On PostgreSQL the app connects as a role that owns nothing (docs/database-roles.md):
whatever statement it is made to run, it cannot empty, drop or unguard the consent
ledger, while the migrations run as the role that owns the tables.

SQLite has no roles (whoever can write the file can do anything to it), so this module
is collected only when the suite runs on PostgreSQL (tests/integration/conftest.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from app import create_app
from app.customers.records import create_customer
from app.extensions import db
from app.links import journey_link
from tests.conftest import fresh_schema, test_settings
from tests.database import APP_ROLE, OWNER_ROLE, as_owner
from tests.integration.conftest import REQUIRED_CONSENTS

# What someone who took over the app (or its database password) might try.
BEYOND_THE_APP = {
    "empty the ledger": "TRUNCATE consent_records",
    "empty the chain head": "TRUNCATE consent_chain_head",
    "drop the ledger": "DROP TABLE consent_records CASCADE",
    "rename it away": "ALTER TABLE consent_records RENAME TO consent_records_old",
    "disable its triggers": "ALTER TABLE consent_records DISABLE TRIGGER ALL",
    "drop its guard": "DROP TRIGGER consent_records_append_only ON consent_records",
    "defuse the guard's function": (
        "CREATE OR REPLACE FUNCTION consent_records_append_only() RETURNS trigger "
        "AS $$ BEGIN RETURN NEW; END; $$ LANGUAGE plpgsql"
    ),
    "take the table over": f"ALTER TABLE consent_records OWNER TO {APP_ROLE}",
    "set every trigger aside": "SET session_replication_role = replica",
    "build a table of its own": "CREATE TABLE consent_records_copy (id integer)",
}


def _record_consents(client: FlaskClient) -> None:
    client.post("/journey/welcome")
    client.post("/journey/consent", data=REQUIRED_CONSENTS)


def _verify(app: Flask) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["consents", "verify"])
    return result.exit_code, result.output


def test_the_app_connects_as_a_role_that_owns_nothing(app: Flask) -> None:
    with app.app_context():
        role, superuser = db.session.execute(
            text("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user")
        ).one()
        owned = db.session.execute(
            text("SELECT count(*) FROM pg_class WHERE pg_has_role(relowner, 'MEMBER')")
        ).scalar_one()
    assert (role, superuser, owned) == (APP_ROLE, False, 0)


@pytest.mark.parametrize("statement", BEYOND_THE_APP.values(), ids=BEYOND_THE_APP.keys())
def test_the_app_role_cannot_empty_drop_or_unguard_the_ledger(
    app: Flask, customer_client: FlaskClient, statement: str
) -> None:
    _record_consents(customer_client)
    with app.app_context():
        with pytest.raises(DatabaseError, match=r"permission denied|must be owner"):
            db.session.execute(text(statement))
        db.session.rollback()
        records = db.session.execute(text("SELECT count(*) FROM consent_records")).scalar_one()
    assert records == 3
    assert _verify(app)[0] == 0


def test_a_wipe_forced_by_the_tables_owner_does_not_verify(
    app: Flask, customer_client: FlaskClient
) -> None:
    _record_consents(customer_client)
    with as_owner(app) as owner:
        owner.exec_driver_sql("ALTER TABLE consent_records DISABLE TRIGGER USER")
        owner.exec_driver_sql("TRUNCATE consent_records")
        owner.exec_driver_sql("ALTER TABLE consent_records ENABLE TRIGGER USER")
    code, output = _verify(app)
    assert code == 1
    assert "the chain head says 3 record(s) were written, but none remain" in output


def test_the_migrations_run_as_the_owner_and_the_app_uses_their_tables(
    tmp_path: Path,
) -> None:
    app = create_app(test_settings(tmp_path))
    client = app.test_client()
    try:
        with app.app_context():
            fresh_schema()
            upgrade()
            owners = set(
                db.session.execute(
                    text(
                        "SELECT DISTINCT tableowner FROM pg_tables "
                        "WHERE schemaname = current_schema()"
                    )
                ).scalars()
            )
            customer = create_customer("Acme Ltd", "owner@acme.example")
            link = journey_link(customer.public_id, "default").removeprefix("http://localhost")
        client.get(link)
        _record_consents(client)
        code, output = _verify(app)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    assert owners == {OWNER_ROLE}
    assert (code, output.split(";")[0]) == (0, "OK: 3 record(s) verify")

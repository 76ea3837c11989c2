"""The consent ledger is append-only in the database itself, not only in the app."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from app import create_app
from app.extensions import db
from app.models import Customer, JourneyRun
from tests.conftest import fresh_schema, test_settings
from tests.consent_records import chained
from tests.database import admin_url, as_owner

REFUSED = [
    "UPDATE consent_records SET decision = 'granted'",
    "UPDATE consent_records SET text = 'something else'",
    "DELETE FROM consent_records",
]


def _record_consents(client: FlaskClient) -> None:
    client.post("/journey/welcome")
    client.post(
        "/journey/consent",
        data={"consent_financial_statements": "y", "consent_invoices_bills": "y", "agree": "1"},
    )


def _count(app: Flask) -> int:
    with app.app_context():
        return int(db.session.execute(text("SELECT count(*) FROM consent_records")).scalar_one())


@pytest.mark.parametrize("statement", REFUSED)
def test_the_database_refuses_changes_to_consent_records(
    app: Flask, customer_client: FlaskClient, statement: str
) -> None:
    _record_consents(customer_client)
    before = _count(app)
    assert before == 3
    with app.app_context():
        with pytest.raises(DatabaseError, match="append-only"):
            db.session.execute(text(statement))
        db.session.rollback()
    assert _count(app) == before


# Emptying the ledger at once: PostgreSQL's TRUNCATE skips row triggers, and SQLite's
# (a DELETE without WHERE) is refused by the row trigger. The chain head goes nowhere either.
WIPES = (
    [
        "TRUNCATE consent_records",
        "TRUNCATE consent_records, consent_chain_head RESTART IDENTITY CASCADE",
        "TRUNCATE consent_chain_head",
        "DELETE FROM consent_chain_head",
    ]
    if admin_url()
    else ["DELETE FROM consent_records", "DELETE FROM consent_chain_head"]
)


@pytest.mark.parametrize("statement", WIPES)
def test_not_even_the_tables_owner_can_empty_the_ledger(
    app: Flask, customer_client: FlaskClient, statement: str
) -> None:
    _record_consents(customer_client)
    with pytest.raises(DatabaseError, match="append-only"), as_owner(app) as connection:
        connection.exec_driver_sql(statement)
    assert _count(app) == 3
    assert app.test_cli_runner().invoke(args=["consents", "verify"]).exit_code == 0


def test_the_migrations_install_the_same_guard(tmp_path: Path) -> None:
    app = create_app(test_settings(tmp_path))
    try:
        with app.app_context():
            if db.engine.dialect.name == "postgresql":
                fresh_schema()
            upgrade()
            customer = Customer(name="Acme Ltd", email="owner@acme.example")
            run = JourneyRun(
                customer=customer, journey_id="default", journey_version="v", current_step="x"
            )
            db.session.add(run)
            db.session.flush()
            db.session.add(
                chained(
                    customer_id=customer.id,
                    run_id=run.id,
                    journey_id="default",
                    journey_version="v",
                    item_key="item",
                    text="text",
                    text_sha256="0" * 64,
                    decision="granted",
                    locale="en",
                )
            )
            db.session.commit()
            for statement in REFUSED:
                with pytest.raises(DatabaseError, match="append-only"):
                    db.session.execute(text(statement))
                db.session.rollback()
            for statement in WIPES:
                with pytest.raises(DatabaseError, match="append-only"), as_owner(app) as owner:
                    owner.exec_driver_sql(statement)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()

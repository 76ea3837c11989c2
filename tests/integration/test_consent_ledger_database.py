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


def test_the_migrations_install_the_same_guard(tmp_path: Path) -> None:
    app = create_app(test_settings(tmp_path))
    try:
        with app.app_context():
            if db.engine.dialect.name == "postgresql":
                with db.engine.begin() as conn:
                    fresh_schema(conn)
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
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()

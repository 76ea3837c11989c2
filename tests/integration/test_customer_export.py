"""`flask customers export`: everything held about a customer, for an access request."""

from __future__ import annotations

import json
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEntry, Connection, Customer
from app.vault import decrypt_json
from tests.integration.conftest import LiveSandbox


def _link(client: FlaskClient, live_sandbox: LiveSandbox) -> None:
    start = client.post("/journey/connect")
    callback = live_sandbox.authorize(str(start.location), "approve")
    client.get(callback.removeprefix("http://localhost"))


def test_an_export_holds_the_customers_journey_consents_and_connections(
    app: Flask, connecting: FlaskClient, live_sandbox: LiveSandbox, tmp_path: Path
) -> None:
    _link(connecting, live_sandbox)
    with app.app_context():
        customer = db.session.scalars(select(Customer)).one()
        customer.external_id = "acme-42"
        customer_id = customer.public_id
        db.session.commit()
        token = decrypt_json(db.session.scalars(select(Connection)).one().token_ciphertext or "")
    target = tmp_path / "acme.json"
    result = app.test_cli_runner().invoke(
        args=["customers", "export", "acme-42", "--output", str(target)]
    )
    assert result.exit_code == 0, result.output
    exported = json.loads(target.read_text())
    assert exported["customer"]["email"] == "owner@acme.example"
    assert [r["journey_id"] for r in exported["journey_runs"]] == ["default"]
    # Two grants and a refusal, then a note on each grant of the connection it now covers.
    assert [c["decision"] for c in exported["consent_records"]] == [
        "granted",
        "granted",
        "declined",
        "scoped",
        "scoped",
    ]
    assert exported["consent_records"][0]["text"]
    [connection] = exported["connections"]
    assert (connection["platform"], connection["status"]) == ("sandbox", "linked")
    assert "token_ciphertext" not in connection
    assert exported["journey_events"]
    assert {e["type"] for e in exported["events_sent_to_the_business"]} >= {"journey.completed"}
    text = target.read_text()
    assert token["access_token"] not in text and token["refresh_token"] not in text
    with app.app_context():
        entry = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "customer.export")
        ).one()
        assert entry.subject_id == customer_id


def test_an_unknown_customer_is_explained(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["customers", "export", "nobody"])
    assert result.exit_code == 1
    assert "No customer with external id 'nobody'" in result.output

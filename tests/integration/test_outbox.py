"""The outbox: each change the business may care about writes its event in the same
transaction, with ids only — never tokens or personal data."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from app import clock
from app.connections import lifecycle
from app.consent import ledger
from app.engine import idle
from app.extensions import db
from app.models import (
    Connection,
    ConsentRecord,
    Customer,
    JourneyEvent,
    JourneyRun,
    OutboxEvent,
    WebhookDelivery,
    WebhookEndpoint,
)
from app.vault import decrypt_json
from app.webhooks.outbox import emit
from tests.integration.conftest import LiveSandbox


def _events(app: Flask) -> list[OutboxEvent]:
    with app.app_context():
        events = list(db.session.scalars(select(OutboxEvent).order_by(OutboxEvent.id)))
        db.session.expunge_all()
        return events


def _types(app: Flask) -> list[str]:
    return [event.type for event in _events(app)]


def _link(client: FlaskClient, live_sandbox: LiveSandbox, action: str = "approve") -> None:
    start = client.post("/journey/connect")
    callback = live_sandbox.authorize(str(start.location), action)
    client.get(callback.removeprefix("http://localhost"))


def test_a_whole_journey_reports_start_consents_link_and_completion(
    app: Flask, connecting: FlaskClient, live_sandbox: LiveSandbox
) -> None:
    _link(connecting, live_sandbox)
    assert _types(app) == [
        "journey.started",
        "consent.granted",
        "consent.granted",
        "consent.declined",
        "connection.linked",
        "journey.completed",
    ]
    with app.app_context():
        customer = db.session.scalars(select(Customer)).one()
        run = db.session.scalars(select(JourneyRun)).one()
        connection = db.session.scalars(select(Connection)).one()
        records = {
            r.public_id: r.item_key
            for r in db.session.scalars(select(ConsentRecord))
            if r.decision != "scoped"
        }
    events = _events(app)
    for event in events:
        assert event.data["customer_id"] == customer.public_id
        assert event.data["run_id"] == run.public_id
        assert event.data["journey_id"] == "default"
    consents = [e.data for e in events if e.type.startswith("consent.")]
    assert {c["consent_id"]: c["item"] for c in consents} == records
    linked = events[4].data
    assert linked["connection_id"] == connection.public_id
    assert linked["platform"] == "sandbox"
    assert linked["organisation_id"] == connection.org_id


def test_events_hold_no_tokens_and_no_personal_data(
    app: Flask, connecting: FlaskClient, live_sandbox: LiveSandbox
) -> None:
    _link(connecting, live_sandbox)
    with app.app_context():
        connection = db.session.scalars(select(Connection)).one()
        token = decrypt_json(connection.token_ciphertext or "")
        customer = db.session.scalars(select(Customer)).one()
        secrets = [token["access_token"], token["refresh_token"], customer.email, customer.name]
        secrets.append(connection.org_name or "")
    everything = json.dumps([event.data for event in _events(app)])
    for secret in secrets:
        assert secret not in everything


def test_a_denied_connection_reports_the_failure_and_its_reason(
    app: Flask, connecting: FlaskClient, live_sandbox: LiveSandbox
) -> None:
    _link(connecting, live_sandbox, "deny")
    failed = _events(app)[-1]
    assert failed.type == "connection.failed"
    assert failed.data["reason"] == "access_denied"
    assert "journey.completed" not in _types(app)


def test_a_resubmitted_consent_page_reports_nothing_twice(
    app: Flask, customer_client: FlaskClient
) -> None:
    customer_client.post("/journey/welcome")
    answers = {"consent_financial_statements": "y", "consent_invoices_bills": "y", "agree": "1"}
    customer_client.post("/journey/consent", data=answers)
    customer_client.get("/journey/consent")
    customer_client.post("/journey/consent", data=answers)
    assert _types(app) == [
        "journey.started",
        "consent.granted",
        "consent.granted",
        "consent.declined",
    ]


def test_withdrawing_a_consent_reports_it_once(app: Flask, customer_client: FlaskClient) -> None:
    customer_client.post("/journey/welcome")
    customer_client.post(
        "/journey/consent",
        data={"consent_financial_statements": "y", "consent_invoices_bills": "y", "agree": "1"},
    )
    with app.app_context():
        granted = db.session.scalars(
            select(ConsentRecord).where(ConsentRecord.item_key == "financial_statements")
        ).one()
        withdrawn = ledger.withdraw(granted)
        assert withdrawn is not None
        db.session.commit()
        assert ledger.withdraw(granted) is None
        withdrawn_id, granted_id = withdrawn.public_id, granted.public_id
    last = _events(app)[-1]
    assert last.type == "consent.withdrawn"
    assert (last.data["consent_id"], last.data["withdraws"]) == (withdrawn_id, granted_id)
    assert _types(app).count("consent.withdrawn") == 1


def test_disconnecting_and_deauthorization_are_reported(
    app: Flask, connecting: FlaskClient, live_sandbox: LiveSandbox
) -> None:
    _link(connecting, live_sandbox)
    with app.app_context():
        connection = db.session.scalars(select(Connection)).one()
        token = decrypt_json(connection.token_ciphertext or "")
    requests.post(
        f"{live_sandbox.url}/revoke",
        data={"token": token["refresh_token"], "token_type_hint": "refresh_token"},
        auth=("onramp-sandbox-client", "test-sandbox-client-secret"),
        timeout=10,
    ).close()
    with app.app_context():
        db.session.execute(
            update(Connection).values(token_expires_at=clock.now() + timedelta(seconds=30))
        )
        db.session.commit()
        assert lifecycle.refresh_due() == {"deauthorized": 1}
    deauthorized = _events(app)[-1]
    assert deauthorized.type == "connection.deauthorized"
    assert deauthorized.data["reason"] == "refresh_refused"
    with app.app_context():
        connection = db.session.scalars(select(Connection)).one()
        lifecycle.disconnect(connection)
        lifecycle.disconnect(connection)
    assert _types(app)[-2:] == ["connection.deauthorized", "connection.disconnected"]


def _age_run(app: Flask, hours: int) -> None:
    with app.app_context():
        past = clock.now() - timedelta(hours=hours)
        db.session.execute(update(JourneyRun).values(updated_at=past))
        db.session.execute(update(JourneyEvent).values(occurred_at=past))
        db.session.commit()


def test_an_idle_run_is_reported_abandoned_once_until_it_moves_again(
    app: Flask, customer_client: FlaskClient
) -> None:
    with app.app_context():
        assert idle.mark_abandoned() == 0
    _age_run(app, 25)
    with app.app_context():
        assert idle.mark_abandoned() == 1
        assert idle.mark_abandoned() == 0
    abandoned = _events(app)[-1]
    assert (abandoned.type, abandoned.data["step"]) == ("journey.abandoned", "welcome")

    customer_client.post("/journey/welcome")
    _age_run(app, 25)
    with app.app_context():
        assert idle.mark_abandoned() == 1
    assert _types(app).count("journey.abandoned") == 2


def test_the_idle_time_is_configurable(app: Flask, customer_client: FlaskClient) -> None:
    _age_run(app, 2)
    with app.app_context():
        assert idle.mark_abandoned() == 0
        app.config["JOURNEY_ABANDON_AFTER_SECONDS"] = 60 * 60
        assert idle.mark_abandoned() == 1


def test_a_completed_run_is_never_abandoned(
    app: Flask, connecting: FlaskClient, live_sandbox: LiveSandbox
) -> None:
    _link(connecting, live_sandbox)
    _age_run(app, 48)
    with app.app_context():
        assert idle.mark_abandoned() == 0


def _endpoint(url: str, event_types: list[str], status: str = "enabled") -> WebhookEndpoint:
    endpoint = WebhookEndpoint(
        url=url, event_types=event_types, secrets_ciphertext="unused", status=status
    )
    db.session.add(endpoint)
    return endpoint


def test_each_event_is_queued_for_the_endpoints_that_want_it(app: Flask) -> None:
    with app.app_context():
        everything = _endpoint("https://a.example/hook", [])
        consents = _endpoint("https://b.example/hook", ["consent.granted"])
        _endpoint("https://c.example/hook", [], status="disabled")
        db.session.flush()
        emit("consent.granted", None, consent_id="x")
        emit("journey.started", None, run_id="y")
        db.session.commit()
        queued = [
            (d.event.type, d.endpoint.url)
            for d in db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id))
        ]
    assert queued == [
        ("consent.granted", everything.url),
        ("consent.granted", consents.url),
        ("journey.started", everything.url),
    ]


def test_an_event_rolled_back_with_its_change_is_never_sent(app: Flask) -> None:
    with app.app_context():
        _endpoint("https://a.example/hook", [])
        db.session.commit()
        emit("journey.started", None, run_id="y")
        db.session.rollback()
        assert db.session.scalars(select(OutboxEvent)).all() == []
        assert db.session.scalars(select(WebhookDelivery)).all() == []


def test_an_unknown_event_type_is_a_programming_error(app: Flask) -> None:
    with app.app_context(), pytest.raises(ValueError, match="unknown event type"):
        emit("journey.exploded", None)

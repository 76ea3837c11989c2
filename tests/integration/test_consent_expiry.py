"""Consent that lapses, on a fake clock: one reminder (webhook and email with a one-click
reconfirmation) inside the journey's window, then one ``expired`` record, however many
runners race, and the connections that depended on a required item are disconnected."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app import mail
from app.consent import chain, ledger
from app.customers import expiry
from app.extensions import db
from app.models import (
    Connection,
    ConsentRecord,
    ConsentReminder,
    Customer,
    JourneyRun,
    OutboxEvent,
)
from tests.conftest import Clock
from tests.consent_records import chained
from tests.integration.conftest import REQUIRED_CONSENTS, LiveSandbox
from tests.mail_sink import Sink, smtp_sink

# journeys/default.yaml: grants last 90 days; the reminder comes 14 days before the end.
LIFETIME = timedelta(days=90)
WINDOW = timedelta(days=14)
RUNNERS = 4


@pytest.fixture
def sink(app: Flask) -> Iterator[Sink]:
    with smtp_sink() as (sink, settings):
        app.config.update(settings)
        yield sink


@pytest.fixture
def consented(clock: Clock, customer_client: FlaskClient) -> FlaskClient:
    """Acme Ltd granted both required items (and left the optional one unticked)."""
    customer_client.post("/journey/welcome")
    customer_client.post("/journey/consent", data=REQUIRED_CONSENTS)
    return customer_client


def _events(event_type: str) -> list[dict[str, Any]]:
    return [
        event.data
        for event in db.session.scalars(
            select(OutboxEvent).where(OutboxEvent.type == event_type).order_by(OutboxEvent.id)
        )
    ]


def _count(decision: str) -> int:
    return db.session.scalar(
        select(func.count()).select_from(ConsentRecord).where(ConsentRecord.decision == decision)
    )


def _grants() -> list[ConsentRecord]:
    return list(
        db.session.scalars(
            select(ConsentRecord)
            .where(ConsentRecord.decision == "granted")
            .order_by(ConsentRecord.sequence)
        )
    )


def _race(app: Flask, job: Callable[[], int]) -> list[int]:
    """Run ``job`` from RUNNERS threads at once, each with its own app context."""
    start = threading.Barrier(RUNNERS)
    results: list[int] = []
    failures: list[BaseException] = []

    def runner() -> None:
        try:
            with app.app_context():
                start.wait()
                results.append(job())
                db.session.remove()
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=runner) for _ in range(RUNNERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    return results


def test_the_reminder_comes_once_inside_the_window_by_webhook_and_email(
    app: Flask, clock: Clock, sink: Sink, consented: FlaskClient
) -> None:
    with app.app_context():
        mail.send_due()
        sink.messages.clear()  # the consent receipt
        clock.advance(LIFETIME - WINDOW - timedelta(days=1))
        assert expiry.send_reminders() == 0
        assert mail.send_due() == 0
        assert sink.messages == []

        clock.advance(timedelta(days=2))
        assert expiry.send_reminders() == 2
        assert expiry.send_reminders() == 0
        assert mail.send_due() == 2

        grants = _grants()
        expiring = _events("consent.expiring")
        assert [e["consent_id"] for e in expiring] == [g.public_id for g in grants]
        assert {e["item"] for e in expiring} == {"financial_statements", "invoices_bills"}
        for event, grant in zip(expiring, grants, strict=True):
            assert grant.expires_at is not None
            assert event["expires_at"] == grant.expires_at.isoformat().replace("+00:00", "Z")
            assert event["run_id"] and event["journey_id"] == "default"
        assert all(r.emailed for r in db.session.scalars(select(ConsentReminder)))

    messages = sink.to("owner@acme.example")
    assert len(messages) == 2
    for message, grant in zip(messages, grants, strict=True):
        body = message.get_body(("plain",))
        assert body is not None
        text = body.get_content()
        assert "Northwind Lending" in str(message["Subject"])
        assert f"reconfirm={grant.public_id}" in text
        assert text.count("http://localhost/") == 1


def test_concurrent_runners_remind_once(app: Flask, clock: Clock, consented: FlaskClient) -> None:
    clock.advance(LIFETIME - timedelta(days=1))
    assert sum(_race(app, expiry.send_reminders)) == 2
    with app.app_context():
        assert len(_events("consent.expiring")) == 2
        assert db.session.scalar(select(func.count()).select_from(ConsentReminder)) == 2
        # No SMTP configured: the business's webhook is the only reminder.
        assert not any(r.emailed for r in db.session.scalars(select(ConsentReminder)))


def test_reconfirming_pushes_the_end_out_and_reminds_again_before_the_new_end(
    app: Flask, clock: Clock, consented: FlaskClient
) -> None:
    with app.app_context():
        clock.advance(LIFETIME - timedelta(days=10))
        assert expiry.send_reminders() == 2
        kept, lapsed = _grants()
        evidence = ledger.Evidence("127.0.0.1", "Browser", "en", ledger.BY_CUSTOMER_PAGE)
        reconfirmed = ledger.reconfirm(kept, evidence)
        db.session.commit()
        assert reconfirmed is not None
        assert reconfirmed.expires_at == clock.now + LIFETIME

        clock.advance(timedelta(days=11))
        assert expiry.expire_due() == 1
        latest = ledger.latest_decisions(kept.run_id)
        assert latest[kept.item_key].decision == "reconfirmed"
        assert latest[lapsed.item_key].decision == "expired"
        assert [e["consent_id"] for e in _events("consent.expired")] == [
            latest[lapsed.item_key].public_id
        ]

        # The reconfirmed grant is reminded about in its own window, once.
        assert expiry.send_reminders() == 0
        clock.advance(LIFETIME - WINDOW - timedelta(days=11) + timedelta(hours=1))
        assert expiry.send_reminders() == 1
        assert _events("consent.expiring")[-1]["consent_id"] == reconfirmed.public_id
        assert expiry.expire_due() == 0


def test_without_reconfirmation_one_expired_record_and_dependents_disconnected(
    app: Flask, clock: Clock, connecting: FlaskClient, live_sandbox: LiveSandbox
) -> None:
    start = connecting.post("/journey/connect")
    connecting.get(live_sandbox.authorize(str(start.location)).removeprefix("http://localhost"))
    with app.app_context():
        assert db.session.scalars(select(Connection)).one().status == "linked"
        assert expiry.expire_due() == 0

    clock.advance(LIFETIME + timedelta(minutes=1))
    assert sum(_race(app, expiry.expire_due)) == 2
    with app.app_context():
        assert _count("expired") == 2
        expired = _events("consent.expired")
        assert {e["item"] for e in expired} == {"financial_statements", "invoices_bills"}
        connection = db.session.scalars(select(Connection)).one()
        assert connection.status == "disconnected"
        assert connection.token_ciphertext is None
        assert _events("connection.disconnected")
        assert expiry.expire_due() == 0
        result = chain.verify()
        assert result.ok, result.problem


def test_flask_consents_expire_reminds_then_expires(
    app: Flask, clock: Clock, consented: FlaskClient
) -> None:
    runner = app.test_cli_runner()
    clock.advance(LIFETIME - timedelta(days=1))
    result = runner.invoke(args=["consents", "expire"])
    assert result.exit_code == 0, result.output
    assert "2 reminder(s) sent, 0 consent(s) expired." in result.output

    clock.advance(timedelta(days=2))
    result = runner.invoke(args=["consents", "expire"])
    assert "0 reminder(s) sent, 2 consent(s) expired." in result.output
    result = runner.invoke(args=["consents", "expire"])
    assert "0 reminder(s) sent, 0 consent(s) expired." in result.output
    with app.app_context():
        assert _count("expired") == 2
        assert chain.verify().ok


def test_a_grant_without_a_lifetime_never_lapses(app: Flask, clock: Clock) -> None:
    with app.app_context():
        run = JourneyRun(
            customer=Customer(name="Forever Ltd", email="f@example.test"),
            journey_id="default",
            journey_version="v",
            current_step="done",
        )
        db.session.add(run)
        db.session.flush()
        chained(
            customer_id=run.customer_id,
            run_id=run.id,
            journey_id="default",
            journey_version="v",
            item_key="forever",
            text="Financial statements",
            text_sha256="0" * 64,
            decision="granted",
            locale="en",
        )
        db.session.commit()
        clock.advance(timedelta(days=4000))
        assert expiry.send_reminders() == 0
        assert expiry.expire_due() == 0

"""Delivering webhooks to a real receiver: signatures, retries, 410, Retry-After, redirects,
timeouts and the SSRF rules at delivery time."""

from __future__ import annotations

import ipaddress
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from email.utils import format_datetime

import pytest
from flask import Flask
from sqlalchemy import select, update
from standardwebhooks import WebhookVerificationError

from app import clock
from app.extensions import db
from app.models import OutboxEvent, WebhookAttempt, WebhookDelivery
from app.webhooks import delivery, endpoints, ssrf
from app.webhooks.delivery import MAX_ATTEMPTS, deliver_due
from app.webhooks.outbox import emit, payload
from tests.integration.webhook_receiver import Receiver, Reply

WORKER = "test-worker"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


def _register(app: Flask, url: str, event_types: list[str] | None = None) -> tuple[str, str]:
    with app.app_context():
        endpoint, secret = endpoints.add_endpoint(url, event_types or [])
        db.session.commit()
        return endpoint.public_id, secret


def _emit(app: Flask, count: int = 1) -> list[str]:
    with app.app_context():
        events = [emit("journey.started", None, run_id=f"run-{n}") for n in range(count)]
        db.session.commit()
        return [event.public_id for event in events]


def _deliver(app: Flask) -> int:
    with app.app_context():
        return deliver_due(WORKER)


def _deliveries(app: Flask) -> list[WebhookDelivery]:
    with app.app_context():
        rows = list(db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))
        for row in rows:
            _ = row.attempts_made, row.endpoint, row.event
        db.session.expunge_all()
        return rows


def _make_due(app: Flask) -> None:
    """Move every pending delivery's next attempt into the past (a fake clock)."""
    with app.app_context():
        db.session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.status == "pending")
            .values(next_attempt_at=clock.now() - timedelta(seconds=1))
        )
        db.session.commit()


def test_a_delivery_is_signed_per_standard_webhooks(app: Flask, receiver: Receiver) -> None:
    _, secret = _register(app, receiver.url)
    _emit(app)

    assert _deliver(app) == 1

    [received] = receiver.requests
    [sent] = _deliveries(app)
    with app.app_context():
        event = db.session.scalars(select(OutboxEvent)).one()
        expected = payload(event)
    assert received.verify(secret) == expected
    assert expected["type"] == "journey.started"
    assert received.webhook_id == sent.public_id
    assert received.headers["content-type"] == "application/json"
    assert received.headers["user-agent"] == "Onramp-Webhooks/1"
    assert received.headers["webhook-signature"].startswith("v1,")
    assert sent.status == "succeeded"
    assert sent.delivered_at is not None
    assert sent.last_status_code == 200
    [attempt] = sent.attempts_made
    assert attempt.status_code == 200
    assert attempt.error is None
    assert attempt.latency_ms is not None and attempt.latency_ms >= 0


def test_a_signature_made_with_another_secret_does_not_verify(
    app: Flask, receiver: Receiver
) -> None:
    _register(app, receiver.url)
    _emit(app)
    _deliver(app)
    with pytest.raises(WebhookVerificationError):
        receiver.requests[0].verify(endpoints.new_secret())


def test_during_a_rotation_either_secret_verifies_until_the_old_one_expires(
    app: Flask, receiver: Receiver
) -> None:
    endpoint_id, old = _register(app, receiver.url)
    with app.app_context():
        new = endpoints.rotate_secret(endpoints.get_endpoint(endpoint_id))  # type: ignore[arg-type]
        db.session.commit()
    _emit(app)
    _deliver(app)

    rotated = receiver.requests[0]
    assert len(rotated.headers["webhook-signature"].split(" ")) == 2
    assert rotated.verify(old) == rotated.verify(new)

    with app.app_context():
        assert endpoints.expire_old_secrets(endpoints.get_endpoint(endpoint_id)) == 1  # type: ignore[arg-type]
        db.session.commit()
    _emit(app)
    _deliver(app)
    after = receiver.requests[1]
    after.verify(new)
    with pytest.raises(WebhookVerificationError):
        after.verify(old)


def test_an_old_secret_stops_signing_when_the_grace_period_ends(
    app: Flask, receiver: Receiver
) -> None:
    endpoint_id, old = _register(app, receiver.url)
    app.config["WEBHOOK_SECRET_GRACE_SECONDS"] = 0
    with app.app_context():
        new = endpoints.rotate_secret(endpoints.get_endpoint(endpoint_id))  # type: ignore[arg-type]
        db.session.commit()
    _emit(app)
    _deliver(app)
    received = receiver.requests[0]
    received.verify(new)
    with pytest.raises(WebhookVerificationError):
        received.verify(old)


def test_a_500_is_retried_with_the_same_webhook_id_until_a_200(
    app: Flask, receiver: Receiver
) -> None:
    _, secret = _register(app, receiver.url)
    _emit(app)
    receiver.answer(Reply(500))

    before = clock.now()
    _deliver(app)
    [waiting] = _deliveries(app)
    assert waiting.status == "pending"
    assert waiting.attempts == 1
    assert waiting.last_status_code == 500
    # The first retry comes about 5 seconds later (±20 % jitter), not straight away.
    assert before + timedelta(seconds=4) <= waiting.next_attempt_at
    assert waiting.next_attempt_at <= clock.now() + timedelta(seconds=6)
    assert _deliver(app) == 0  # not due yet

    _make_due(app)
    _deliver(app)

    [done] = _deliveries(app)
    assert done.status == "succeeded"
    assert [a.status_code for a in done.attempts_made] == [500, 200]
    first, second = receiver.requests
    assert first.webhook_id == second.webhook_id == done.public_id
    assert first.verify(secret) == second.verify(secret)


def test_after_the_last_attempt_the_delivery_fails(app: Flask, receiver: Receiver) -> None:
    _register(app, receiver.url)
    _emit(app)
    with app.app_context():
        db.session.execute(update(WebhookDelivery).values(attempts=MAX_ATTEMPTS - 1))
        db.session.commit()
    receiver.answer(Reply(503))

    _deliver(app)

    [failed] = _deliveries(app)
    assert failed.status == "failed"
    assert failed.attempts == MAX_ATTEMPTS
    assert failed.last_status_code == 503


def test_410_gone_disables_the_endpoint_and_cancels_what_waits(
    app: Flask, receiver: Receiver
) -> None:
    endpoint_id, _ = _register(app, receiver.url)
    _emit(app, 3)
    receiver.answer(Reply(410))

    _deliver(app)

    assert len(receiver.requests) == 1
    statuses = [d.status for d in _deliveries(app)]
    assert statuses == ["failed", "cancelled", "cancelled"]
    with app.app_context():
        endpoint = endpoints.get_endpoint(endpoint_id)
        assert endpoint is not None
        assert endpoint.status == "disabled"
        assert endpoint.disabled_reason == "the receiver answered 410 Gone"
        # Later events are not queued for it.
        emit("journey.started", None, run_id="later")
        db.session.commit()
        assert db.session.scalar(select(db.func.count(WebhookDelivery.id))) == 3


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_in_seconds_is_honoured(app: Flask, receiver: Receiver, status: int) -> None:
    _register(app, receiver.url)
    _emit(app)
    receiver.answer(Reply(status, {"Retry-After": "120"}))

    before = clock.now()
    _deliver(app)

    [waiting] = _deliveries(app)
    assert waiting.status == "pending"
    assert waiting.next_attempt_at >= before + timedelta(seconds=120)
    assert waiting.next_attempt_at <= clock.now() + timedelta(seconds=121)


def test_retry_after_as_an_http_date_is_honoured(app: Flask, receiver: Receiver) -> None:
    _register(app, receiver.url)
    _emit(app)
    when = (clock.now() + timedelta(hours=1)).replace(microsecond=0)
    receiver.answer(Reply(503, {"Retry-After": format_datetime(when, usegmt=True)}))

    _deliver(app)

    [waiting] = _deliveries(app)
    assert when - timedelta(seconds=2) <= waiting.next_attempt_at <= when + timedelta(seconds=1)


def test_a_huge_retry_after_is_cut_to_the_configured_maximum(
    app: Flask, receiver: Receiver
) -> None:
    app.config["WEBHOOK_MAX_RETRY_AFTER_SECONDS"] = 3600
    _register(app, receiver.url)
    _emit(app)
    receiver.answer(Reply(503, {"Retry-After": "99999999"}))

    _deliver(app)

    [waiting] = _deliveries(app)
    assert waiting.next_attempt_at <= clock.now() + timedelta(seconds=3600)
    assert waiting.next_attempt_at >= clock.now() + timedelta(seconds=3500)


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirect_is_not_followed_and_is_not_success(
    app: Flask, receiver: Receiver, status: int
) -> None:
    _register(app, receiver.url)
    _emit(app)
    receiver.answer(Reply(status, {"Location": receiver.url + "/elsewhere"}))

    _deliver(app)

    assert [r.path for r in receiver.requests] == ["/hooks"]
    [waiting] = _deliveries(app)
    assert waiting.status == "pending"
    assert [a.status_code for a in waiting.attempts_made] == [status]


def test_a_receiver_that_does_not_answer_in_time_is_retried(app: Flask, receiver: Receiver) -> None:
    app.config["WEBHOOK_TIMEOUT"] = (2.0, 0.3)
    _register(app, receiver.url)
    _emit(app)
    receiver.answer(Reply(200, hold=threading.Event()))

    _deliver(app)

    [waiting] = _deliveries(app)
    assert waiting.status == "pending"
    [attempt] = waiting.attempts_made
    assert attempt.status_code is None
    assert attempt.error is not None and "timeout" in attempt.error
    assert attempt.latency_ms is not None


def test_an_unreachable_receiver_is_retried_with_the_error_recorded(app: Flask) -> None:
    closed = Receiver()
    url = closed.url
    closed.close()  # nothing listens on that port any more
    _register(app, url)
    _emit(app)

    _deliver(app)

    [waiting] = _deliveries(app)
    assert waiting.status == "pending"
    [attempt] = waiting.attempts_made
    assert attempt.status_code is None
    assert attempt.error is not None and attempt.error.startswith("connection error")


def test_one_dead_endpoint_does_not_hold_up_the_others(app: Flask, receiver: Receiver) -> None:
    closed = Receiver()
    dead_url = closed.url
    closed.close()
    _register(app, dead_url)
    _register(app, receiver.url)
    _emit(app, 5)

    _deliver(app)

    # The dead endpoint costs one attempt per pass; the live one gets everything.
    assert len(receiver.requests) == 5
    attempts = [len(d.attempts_made) for d in _deliveries(app) if d.endpoint.url == dead_url]
    assert sorted(attempts) == [0, 0, 0, 0, 1]


def test_events_reach_an_endpoint_in_the_order_they_happened(
    app: Flask, receiver: Receiver
) -> None:
    _register(app, receiver.url)
    ids = _emit(app, 5)

    _deliver(app)

    assert [json.loads(r.body)["id"] for r in receiver.requests] == ids


def test_a_delivery_to_an_endpoint_removed_meanwhile_is_cancelled_not_sent(
    app: Flask, receiver: Receiver
) -> None:
    endpoint_id, _ = _register(app, receiver.url)
    _emit(app)
    with app.app_context():
        endpoints.remove_endpoint(endpoints.get_endpoint(endpoint_id))  # type: ignore[arg-type]
        db.session.commit()

    _deliver(app)

    assert receiver.requests == []
    assert [d.status for d in _deliveries(app)] == ["cancelled"]


def test_loopback_refused_at_delivery_time_is_recorded_as_an_attempt(
    app: Flask, receiver: Receiver
) -> None:
    _register(app, receiver.url)  # allowed: development
    _emit(app)
    app.config["WEBHOOK_ALLOW_LOOPBACK"] = False

    _deliver(app)

    assert receiver.requests == []
    [waiting] = _deliveries(app)
    assert waiting.status == "pending"
    [attempt] = waiting.attempts_made
    assert attempt.status_code is None
    assert attempt.error == "refused: loopback addresses are not allowed"


def test_a_host_name_that_now_resolves_to_loopback_is_refused(
    app: Flask, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: public when registered, loopback when delivered."""
    port = receiver.server.server_address[1]
    answers = {"hooks.example": [ipaddress.ip_address("93.184.215.14")]}
    monkeypatch.setattr(ssrf, "resolve", lambda host, _port: answers[host])
    app.config["WEBHOOK_ALLOW_LOOPBACK"] = False
    _register(app, f"http://hooks.example:{port}/hooks")
    _emit(app)
    answers["hooks.example"] = [ipaddress.ip_address("127.0.0.1")]

    _deliver(app)

    assert receiver.requests == []
    [attempt] = _deliveries(app)[0].attempts_made
    assert attempt.error == "refused: loopback addresses are not allowed"


def test_the_connection_goes_to_the_address_that_was_checked(
    app: Flask, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checked address is the one connected to: the name is never looked up again."""
    port = receiver.server.server_address[1]
    monkeypatch.setattr(ssrf, "resolve", lambda host, _port: [ipaddress.ip_address("127.0.0.1")])
    _register(app, f"http://receiver.invalid:{port}/hooks")
    _emit(app)

    _deliver(app)

    [received] = receiver.requests
    assert received.headers["host"] == f"receiver.invalid:{port}"
    assert _deliveries(app)[0].status == "succeeded"


def test_every_attempt_is_kept(app: Flask, receiver: Receiver) -> None:
    _register(app, receiver.url)
    _emit(app)
    receiver.answer(Reply(500), Reply(502))
    for _ in range(3):
        _make_due(app)
        _deliver(app)
    with app.app_context():
        attempts = db.session.scalars(select(WebhookAttempt).order_by(WebhookAttempt.id)).all()
        assert [a.status_code for a in attempts] == [500, 502, 200]
        assert all(a.attempted_at is not None for a in attempts)


def test_replay_sends_a_delivery_again_with_the_same_id(app: Flask, receiver: Receiver) -> None:
    _register(app, receiver.url)
    _emit(app)
    _deliver(app)
    [sent] = _deliveries(app)
    with app.app_context():
        found = delivery.find_delivery(sent.public_id)
        assert found is not None
        delivery.replay(found)
        db.session.commit()

    _deliver(app)

    assert [r.webhook_id for r in receiver.requests] == [sent.public_id, sent.public_id]
    [again] = _deliveries(app)
    assert again.status == "succeeded"
    assert len(again.attempts_made) == 2


def test_replay_to_a_disabled_endpoint_is_refused(app: Flask, receiver: Receiver) -> None:
    endpoint_id, _ = _register(app, receiver.url)
    _emit(app)
    with app.app_context():
        endpoints.disable_endpoint(endpoints.get_endpoint(endpoint_id), "paused")  # type: ignore[arg-type]
        db.session.commit()
        found = db.session.scalars(select(WebhookDelivery)).one()
        with pytest.raises(delivery.ReplayRefused, match="disabled"):
            delivery.replay(found)

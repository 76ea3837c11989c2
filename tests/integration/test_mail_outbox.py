"""Email leaves the request path: it waits in the outbox, written with what caused it, and
the worker sends it with retries and backoff."""

from __future__ import annotations

import socket
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app import mail
from app.extensions import db
from app.models import ConsentReceipt, MailMessage
from tests.conftest import Clock
from tests.integration.conftest import REQUIRED_CONSENTS
from tests.mail_sink import smtp_sink

EMAIL = "owner@acme.example"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _consent(client: FlaskClient) -> None:
    client.post("/journey/welcome")
    answered = client.post("/journey/consent", data=REQUIRED_CONSENTS)
    assert answered.status_code == 303
    assert answered.location.endswith("/journey/software")


def _outbox(app: Flask) -> list[MailMessage]:
    with app.app_context():
        rows = list(db.session.scalars(select(MailMessage).order_by(MailMessage.id)))
        for row in rows:
            db.session.expunge(row)
        return rows


def _emailed_at(app: Flask) -> object:
    with app.app_context():
        return db.session.scalars(select(ConsentReceipt.emailed_at)).one()


def test_a_down_mail_server_is_retried_later_and_the_receipt_then_arrives(
    app: Flask, customer_client: FlaskClient, clock: Clock
) -> None:
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=_closed_port(), SMTP_SECURITY="none")
    # The customer's page answers although no mail server is listening.
    _consent(customer_client)
    [queued] = _outbox(app)
    assert (queued.kind, queued.status, queued.attempts) == ("receipt", "pending", 0)
    # What it says, and to whom, is kept encrypted.
    assert EMAIL not in (queued.message_ciphertext or "")

    with app.app_context():
        assert mail.send_due() == 1
        # Not due again before its backoff has passed.
        assert mail.send_due() == 0
    [failed_once] = _outbox(app)
    assert (failed_once.status, failed_once.attempts) == ("pending", 1)
    assert failed_once.last_error
    assert failed_once.next_attempt_at == clock.now + mail.retry_delay(1)
    assert _emailed_at(app) is None

    with smtp_sink() as (sink, settings):
        app.config.update(settings)
        clock.advance(mail.retry_delay(1))
        with app.app_context():
            assert mail.send_due() == 1
    [message] = sink.to(EMAIL)
    assert message["Subject"] == "Your consent receipt from Northwind Lending"
    [sent] = _outbox(app)
    assert (sent.status, sent.attempts, sent.message_ciphertext) == ("sent", 2, None)
    assert _emailed_at(app) == clock.now


def test_a_message_the_server_never_takes_is_given_up_and_forgotten(
    app: Flask, customer_client: FlaskClient, clock: Clock
) -> None:
    app.config.update(
        SMTP_HOST="127.0.0.1", SMTP_PORT=_closed_port(), SMTP_SECURITY="none", MAIL_MAX_ATTEMPTS=2
    )
    _consent(customer_client)
    with app.app_context():
        assert mail.send_due() == 1
        clock.advance(timedelta(hours=1))
        assert mail.send_due() == 1
        clock.advance(timedelta(days=1))
        assert mail.send_due() == 0
    [given_up] = _outbox(app)
    assert (given_up.status, given_up.attempts, given_up.message_ciphertext) == ("failed", 2, None)
    assert _emailed_at(app) is None


def test_retries_back_off_to_at_most_six_hours() -> None:
    delays = [mail.retry_delay(n) for n in range(1, 12)]
    assert delays[:3] == [timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4)]
    assert delays == sorted(delays)
    assert delays[-1] == timedelta(hours=6)


def test_nothing_is_queued_without_a_mail_server(app: Flask, customer_client: FlaskClient) -> None:
    _consent(customer_client)
    assert _outbox(app) == []

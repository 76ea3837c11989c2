"""End to end: a business's receiver, registered with `flask webhooks add`, gets every
event type the product emits, each signed per Standard Webhooks, while a real customer
goes through their journey against the Sandbox."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from app import clock
from app.connections import lifecycle, repair
from app.consent import ledger
from app.customers import expiry
from app.customers.records import create_customer
from app.engine import idle
from app.extensions import db
from app.links import journey_link
from app.models import (
    Connection,
    ConsentRecord,
    Delegation,
    JourneyEvent,
    JourneyRun,
    WebhookDelivery,
)
from app.vault import decrypt_json
from app.webhooks.outbox import EVENT_TYPES
from tests.integration.conftest import REQUIRED_CONSENTS, LiveSandbox
from tests.integration.webhook_receiver import Receiver, Reply
from tests.uploads import PDF


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


def _add_endpoint(app: Flask, url: str) -> str:
    result = app.test_cli_runner().invoke(args=["webhooks", "add", "--url", url])
    assert result.exit_code == 0, result.output
    secret = re.search(r"secret: (whsec_\S+)", result.output)
    assert secret is not None
    return secret.group(1)


def _deliver(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["webhooks", "deliver", "--once"])
    assert result.exit_code == 0, result.output


def _connect(client: FlaskClient, live_sandbox: LiveSandbox, action: str) -> None:
    start = client.post("/journey/connect")
    callback = live_sandbox.authorize(str(start.location), action)
    client.get(callback.removeprefix("http://localhost"))


def _ask_accountant(client: FlaskClient) -> str:
    """The customer asks their accountant to connect; the link to pass on, as a path."""
    client.post(
        "/journey/delegate",
        data={"name": "Jane Smith", "email": "jane@accounts.example", "role": "accountant"},
    )
    page = client.get("/journey/delegate/sent").get_data(as_text=True)
    found = re.search(r'href="http://localhost(/journey/delegated/[^"]+)"', page)
    assert found is not None
    return found.group(1)


def _revoke_refresh_token(app: Flask, live_sandbox: LiveSandbox) -> None:
    with app.app_context():
        connection = db.session.scalars(
            select(Connection).where(Connection.status == "linked")
        ).one()
        token = decrypt_json(connection.token_ciphertext or "")
        db.session.execute(
            update(Connection).values(token_expires_at=clock.now() + timedelta(seconds=30))
        )
        db.session.commit()
    requests.post(
        f"{live_sandbox.url}/revoke",
        data={"token": token["refresh_token"], "token_type_hint": "refresh_token"},
        auth=("onramp-sandbox-client", "test-sandbox-client-secret"),
        timeout=10,
    ).close()


def _open_link(app: Flask, name: str) -> FlaskClient:
    with app.app_context():
        customer = create_customer(name, "owner@example.com")
        link = journey_link(customer.public_id, "default").removeprefix("http://localhost")
    client = app.test_client()
    client.get(link)
    return client


def test_the_receiver_gets_every_event_type_signed(
    app: Flask, client: FlaskClient, live_sandbox: LiveSandbox, receiver: Receiver
) -> None:
    secret = _add_endpoint(app, receiver.url)
    app.config["SANDBOX_URL"] = live_sandbox.url

    # A customer consents to what is required, is refused once at the provider, then
    # links and finishes.
    connecting = _open_link(app, "Acme Ltd")
    connecting.post("/journey/welcome")
    connecting.post("/journey/consent", data=REQUIRED_CONSENTS)
    # First they say their software isn't listed, then find the Sandbox after all.
    connecting.post("/journey/software", data={"software": "Ledgerly"})
    connecting.post("/journey/software", data={"platform": "sandbox"})
    # They ask their accountant to connect, and change their mind.
    _ask_accountant(connecting)
    with app.app_context():
        public_id = db.session.scalars(select(Delegation.public_id)).one()
    connecting.post("/journey/delegate/cancel", data={"delegation": public_id})
    _connect(connecting, live_sandbox, "deny")
    # Then they ask again, and their accountant connects.
    link = _ask_accountant(connecting)
    accountant = app.test_client()
    accountant.get(link)
    start = accountant.post("/journey/delegated", data={"submit": "Continue"})
    accountant.get(live_sandbox.authorize(str(start.location)).removeprefix("http://localhost"))
    with app.app_context():
        # Both grants come within their reminder window.
        assert expiry.send_reminders(now=clock.now() + timedelta(days=80)) == 2
        # The business withdraws a consent on the customer's behalf.
        granted = db.session.scalars(
            select(ConsentRecord).where(ConsentRecord.decision == "granted")
        ).first()
        assert granted is not None and ledger.withdraw(granted) is not None
        # The customer keeps the other one going, and later lets it lapse.
        kept = db.session.scalars(
            select(ConsentRecord).where(
                ConsentRecord.decision == "granted", ConsentRecord.item_key != granted.item_key
            )
        ).first()
        evidence = ledger.Evidence("127.0.0.1", "Browser", "en", ledger.BY_CUSTOMER_PAGE)
        assert kept is not None and ledger.reconfirm(kept, evidence) is not None
        assert ledger.expire(kept, now=clock.now() + timedelta(days=400)) is not None
        db.session.commit()
    # The connection's refresh token nears its absolute expiry: the business is told.
    with app.app_context():
        nearing = db.session.scalars(select(Connection).order_by(Connection.id.desc())).first()
        assert nearing is not None
        nearing.linked_at = clock.now() - timedelta(days=30)
        nearing.refresh_expires_at = clock.now() + timedelta(days=2)
        db.session.commit()
        assert repair.announce_expiring() == 1
    # The platform refuses the next refresh, then the business disconnects.
    _revoke_refresh_token(app, live_sandbox)
    with app.app_context():
        assert lifecycle.refresh_due() == {"deauthorized": 1}
        lifecycle.disconnect(
            db.session.scalars(select(Connection).order_by(Connection.id.desc())).first()
        )
    # Another uploads their accounts instead of connecting.
    uploading = _open_link(app, "Files Ltd")
    uploading.post("/journey/welcome")
    uploading.post("/journey/consent", data=REQUIRED_CONSENTS)
    uploading.post("/journey/software", data={"upload_instead": "1"})
    sent = uploading.post(
        "/journey/upload",
        data={"files": [(io.BytesIO(PDF), "accounts.pdf")], "upload": "y"},
        content_type="multipart/form-data",
    )
    assert sent.status_code == 303
    # They say how it went, on the done page.
    assert uploading.post("/journey/feedback", data={"rating": "4"}).status_code == 303
    # Another customer opens their link and leaves it there.
    _open_link(app, "Idle Ltd")
    with app.app_context():
        past = clock.now() - timedelta(days=2)
        db.session.execute(update(JourneyRun).values(updated_at=past))
        db.session.execute(update(JourneyEvent).values(occurred_at=past))
        db.session.commit()
        assert idle.mark_abandoned() == 1  # the idle run; a completed one never is

    _deliver(app)

    payloads = [request.verify(secret) for request in receiver.requests]
    assert {payload["type"] for payload in payloads} == set(EVENT_TYPES)
    assert len({request.webhook_id for request in receiver.requests}) == len(payloads)
    for payload in payloads:
        assert set(payload) == {"id", "type", "timestamp", "data"}
        assert payload["data"]["customer_id"]
    with app.app_context():
        # Every queued delivery went out once; nothing is left waiting.
        pending = _deliveries(app, "pending")
        assert pending == 0


def _deliveries(app: Flask, status: str) -> int:
    return len(
        db.session.scalars(select(WebhookDelivery).where(WebhookDelivery.status == status)).all()
    )


def test_a_receiver_that_fails_then_recovers_gets_the_same_event_again(
    app: Flask, receiver: Receiver
) -> None:
    secret = _add_endpoint(app, receiver.url)
    _open_link(app, "Acme Ltd")
    receiver.answer(Reply(500))
    _deliver(app)
    with app.app_context():
        db.session.execute(update(WebhookDelivery).values(next_attempt_at=clock.now()))
        db.session.commit()
    _deliver(app)
    first, second = receiver.requests
    assert first.webhook_id == second.webhook_id
    assert first.verify(secret)["type"] == second.verify(secret)["type"] == "journey.started"

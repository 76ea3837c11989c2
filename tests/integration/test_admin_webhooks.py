"""The console's Webhooks screen: endpoints, deliveries with attempts, replay and tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEntry, WebhookDelivery
from app.webhooks import endpoints
from app.webhooks.delivery import deliver_due
from app.webhooks.outbox import emit
from tests.admin import signed_in_as
from tests.integration.webhook_receiver import Receiver, Reply
from tests.pages import text_of


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


def _delivered_once(app: Flask, receiver: Receiver, *replies: Reply) -> tuple[str, str]:
    """An endpoint and one delivery attempted once; their public ids."""
    receiver.answer(*replies)
    with app.app_context():
        endpoint, _ = endpoints.add_endpoint(receiver.url, [])
        emit("journey.started", None, run_id="r1")
        db.session.commit()
        deliver_due("test-worker")
        delivery = db.session.scalars(select(WebhookDelivery)).one()
        return endpoint.public_id, delivery.public_id


def test_deliveries_show_every_attempt(app: Flask, receiver: Receiver) -> None:
    _delivered_once(app, receiver, Reply(500))
    page = text_of(signed_in_as(app, "viewer").get("/admin/webhooks"))
    assert receiver.url in page
    assert "journey.started" in page
    assert "HTTP 500" in page
    assert "next try" in page


def test_an_admin_replays_a_failed_delivery(app: Flask, receiver: Receiver) -> None:
    _, delivery_id = _delivered_once(app, receiver, Reply(410))
    admin = signed_in_as(app, "admin")
    assert "Replay" in admin.get("/admin/webhooks").text
    with app.app_context():
        endpoint = endpoints.list_endpoints()[0]
        endpoints.enable_endpoint(endpoint)
        db.session.commit()
    replayed = admin.post(f"/admin/webhooks/deliveries/{delivery_id}/replay")
    assert replayed.status_code == 303
    with app.app_context():
        delivery = db.session.scalars(select(WebhookDelivery)).one()
        assert (delivery.status, delivery.attempts) == ("pending", 0)
        deliver_due("test-worker")
        entry = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "webhook.replay")
        ).one()
        assert (entry.actor_id, entry.subject_id) == ("admin@example.com", delivery_id)
    assert len(receiver.requests) == 2
    assert receiver.requests[0].webhook_id == receiver.requests[1].webhook_id


def test_replaying_to_a_disabled_endpoint_is_explained(app: Flask, receiver: Receiver) -> None:
    _, delivery_id = _delivered_once(app, receiver, Reply(410))
    admin = signed_in_as(app, "admin")
    response = admin.post(f"/admin/webhooks/deliveries/{delivery_id}/replay", follow_redirects=True)
    assert "its endpoint is disabled: enable it first" in text_of(response)


def test_an_admin_sends_a_signed_test_event(app: Flask, receiver: Receiver) -> None:
    with app.app_context():
        endpoint, secret = endpoints.add_endpoint(receiver.url, [])
        db.session.commit()
        endpoint_id = endpoint.public_id
    admin = signed_in_as(app, "admin")
    response = admin.post(f"/admin/webhooks/endpoints/{endpoint_id}/test", follow_redirects=True)
    assert "The endpoint accepted a signed test event (HTTP 200)" in text_of(response)
    assert receiver.requests[0].verify(secret)["type"] == "webhook.test"
    with app.app_context():
        entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "webhook.test"))
        assert entry.one().actor_id == "admin@example.com"


def test_an_admin_disables_and_enables_an_endpoint(app: Flask, receiver: Receiver) -> None:
    endpoint_id, _ = _delivered_once(app, receiver, Reply(500))
    admin = signed_in_as(app, "admin")
    disabled = admin.post(f"/admin/webhooks/endpoints/{endpoint_id}/disable", follow_redirects=True)
    assert "1 waiting deliveries were cancelled" in text_of(disabled)
    enabled = admin.post(f"/admin/webhooks/endpoints/{endpoint_id}/enable", follow_redirects=True)
    assert "is enabled" in text_of(enabled)
    with app.app_context():
        actions = db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions[-2:] == ["webhook_endpoint.disable", "webhook_endpoint.enable"]


@pytest.mark.parametrize("role", ["viewer", "support", "editor"])
def test_only_admins_act_on_webhooks(app: Flask, receiver: Receiver, role: str) -> None:
    endpoint_id, delivery_id = _delivered_once(app, receiver, Reply(500))
    client = signed_in_as(app, role)
    assert "Replay" not in client.get("/admin/webhooks").text
    assert client.post(f"/admin/webhooks/deliveries/{delivery_id}/replay").status_code == 403
    assert client.post(f"/admin/webhooks/endpoints/{endpoint_id}/test").status_code == 403
    assert len(receiver.requests) == 1


def test_unknown_ids_are_not_found(app: Flask) -> None:
    admin = signed_in_as(app, "admin")
    assert admin.post("/admin/webhooks/deliveries/nope/replay").status_code == 404
    assert admin.post("/admin/webhooks/endpoints/nope/test").status_code == 404

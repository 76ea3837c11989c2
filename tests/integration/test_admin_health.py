"""The health panel on the admin overview: reachability, webhook backlog, recent failures."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import (
    AuditEntry,
    Customer,
    OutboxEvent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from app.ops import status
from tests.admin import PASSWORD, make_user, sign_in, signed_in_as

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def _seed(app: Flask, now: datetime = NOW) -> None:
    with app.app_context():
        live = WebhookEndpoint(url="https://hooks.example/a", secrets_ciphertext="x")
        gone = WebhookEndpoint(
            url="https://hooks.example/b", secrets_ciphertext="x", status="disabled"
        )
        db.session.add_all([live, gone])

        def event(event_type: str, ago: timedelta) -> OutboxEvent:
            e = OutboxEvent(type=event_type, data={}, occurred_at=now - ago)
            db.session.add(e)
            return e

        shops = [Customer(name=f"Shop {n}", email=f"shop{n}@example.com") for n in range(3)]
        db.session.add_all(shops)
        db.session.flush()
        # Two customers failed to connect in the last hour (one of them twice); one before.
        for minutes, shop in ((10, shops[0]), (50, shops[1]), (55, shops[1]), (61, shops[2])):
            e = event("connection.failed", timedelta(minutes=minutes))
            e.customer_id = shop.id
        linked = event("connection.linked", timedelta(hours=2))
        for ago, state in ((timedelta(minutes=90), "pending"), (timedelta(minutes=5), "pending")):
            db.session.add(
                WebhookDelivery(event=linked, endpoint=live, status=state, created_at=now - ago)
            )
        done = WebhookDelivery(
            event=linked, endpoint=live, status="succeeded", created_at=now - timedelta(days=3)
        )
        db.session.add(done)
        for code, ago in (
            (500, timedelta(minutes=20)),
            (None, timedelta(minutes=30)),
            (302, timedelta(minutes=40)),
            (200, timedelta(minutes=30)),
            (500, timedelta(hours=2)),
        ):
            db.session.add(WebhookAttempt(delivery=done, status_code=code, attempted_at=now - ago))
        db.session.commit()


def test_the_figures_count_backlog_and_failures_of_the_last_hour(app: Flask) -> None:
    _seed(app)
    with app.app_context():
        counts = status.counts(NOW)
    assert counts == status.Counts(
        pending_deliveries=2,
        oldest_pending=timedelta(minutes=90),
        # One delivery, three failed attempts in the hour.
        failed_deliveries_last_hour=1,
        disabled_endpoints=1,
        connection_failures_last_hour=2,
    )


def test_nothing_waiting_has_no_oldest_age(app: Flask) -> None:
    with app.app_context():
        counts = status.counts(NOW)
    assert (counts.pending_deliveries, counts.oldest_pending) == (0, None)


def test_the_database_is_reachable_and_redis_not_configured(app: Flask) -> None:
    with app.app_context():
        health = status.health()
    assert (health.database.configured, health.database.problem) == (True, None)
    assert (health.redis.configured, health.redis.ok) == (False, True)
    assert health.ok and health.counts is not None


def test_an_unreachable_redis_is_reported(app: Flask) -> None:
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"
    with app.app_context():
        health = status.health()
    assert health.redis.configured and health.redis.problem == "ConnectionError"
    assert not health.ok
    page = signed_in_as(app, "viewer").get("/admin/").text
    assert "<strong>Redis:</strong> unreachable (ConnectionError)" in page


def test_an_unreadable_database_shows_no_figures_rather_than_failing(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = signed_in_as(app, "viewer")
    monkeypatch.setattr(status, "database_problem", lambda: "OperationalError")
    response = client.get("/admin/")
    assert response.status_code == 200
    assert "unreachable (OperationalError)" in response.text
    assert "The database cannot be read" in response.text


def _figure(page: str, label: str) -> str:
    found = re.search(
        rf"<th scope=\"row\">{re.escape(label)}</th><td class=\"numeric\">(?:<a [^>]*>)?([^<]*)",
        page,
    )
    assert found is not None, label
    return found.group(1)


def test_the_overview_shows_the_panel_to_every_role(app: Flask) -> None:
    now = datetime.now(UTC)
    _seed(app, now)
    for role in ("viewer", "support", "editor", "admin"):
        page = signed_in_as(app, role).get("/admin/").text
        assert "<strong>Database:</strong> reachable" in page
        assert _figure(page, "Webhook deliveries waiting") == "2"
        assert _figure(page, "Oldest waiting delivery") == "1 h 30 min"
        assert _figure(page, "Webhook deliveries with a failed attempt, last hour") == "1"
        assert _figure(page, "Disabled webhook endpoints") == "1"
        assert _figure(page, "Customers whose connection failed, last hour") == "2"


def test_failed_sign_ins_are_counted_from_the_audit_log(app: Flask) -> None:
    label = "Failed admin sign-ins today (UTC)"
    client = signed_in_as(app, "admin")
    before = int(_figure(client.get("/admin/").text, label))
    email = make_user(app, "viewer")
    stranger = app.test_client()
    stranger.post("/admin/login", data={"email": email, "password": "not " + PASSWORD})
    sign_in(stranger, email)
    after = int(_figure(client.get("/admin/").text, label))
    assert after == before + 1
    with app.app_context():
        [entry] = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "user.login_failed")
        ).all()
        assert (entry.actor_type, entry.actor_id, entry.after) == (
            "visitor",
            email,
            {"via": "password"},
        )


def test_a_failed_sign_in_keeps_no_address_that_is_not_a_colleagues(app: Flask) -> None:
    stranger = app.test_client()
    stranger.post("/admin/login", data={"email": "jo@elsewhere.example", "password": "x" * 12})
    stranger.post("/admin/login", data={"email": "hunter2-password", "password": "x" * 12})
    with app.app_context():
        actors = db.session.scalars(
            select(AuditEntry.actor_id).where(AuditEntry.action == "user.login_failed")
        ).all()
    assert actors == ["unknown account", "unknown account"]

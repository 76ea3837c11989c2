"""Prometheus metrics at /metrics: protected, and counting what operators watch."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from flask.testing import FlaskClient
from prometheus_client import REGISTRY

from app.extensions import db
from app.links import journey_link
from app.webhooks.outbox import emit
from tests.admin import make_user, sign_in
from tests.integration.conftest import LiveSandbox


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@contextmanager
def _delta(name: str, **labels: str) -> Iterator[list[float]]:
    """The change in one sample over the block: ``with _delta(...) as change:``."""
    before = _value(name, **labels)
    change: list[float] = []
    yield change
    change.append(_value(name, **labels) - before)


def test_metrics_need_the_scrape_token_or_a_signed_in_colleague(
    app: Flask, client: FlaskClient
) -> None:
    assert client.get("/metrics").status_code == 401
    app.config["METRICS_TOKEN"] = "scrape-me-please"
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    scraped = client.get("/metrics", headers={"Authorization": "Bearer scrape-me-please"})
    assert scraped.status_code == 200
    assert "onramp_journey_steps_total" in scraped.text
    sign_in(client, make_user(app, "viewer"))
    assert client.get("/metrics").status_code == 200


def test_a_journey_counts_its_steps_start_link_and_completion(
    connecting: FlaskClient, live_sandbox: LiveSandbox
) -> None:
    with (
        _delta("onramp_journeys_total", journey="default", outcome="completed") as completed,
        _delta(
            "onramp_connection_outcomes_total", platform="sandbox", outcome="linked", reason=""
        ) as linked,
        _delta(
            "onramp_journey_steps_total", journey="default", step="connect", kind="completed"
        ) as connect_step,
    ):
        start = connecting.post("/journey/connect")
        callback = live_sandbox.authorize(str(start.location), "approve")
        connecting.get(callback.removeprefix("http://localhost"))
    assert (completed, linked, connect_step) == ([1.0], [1.0], [1.0])


def test_a_failed_connection_is_counted_with_its_reason(
    connecting: FlaskClient, live_sandbox: LiveSandbox
) -> None:
    with _delta(
        "onramp_connection_outcomes_total",
        platform="sandbox",
        outcome="failed",
        reason="access_denied",
    ) as failed:
        start = connecting.post("/journey/connect")
        callback = live_sandbox.authorize(str(start.location), "deny")
        connecting.get(callback.removeprefix("http://localhost"))
    assert failed == [1.0]


def test_events_rolled_back_are_not_counted(app: Flask) -> None:
    with (
        _delta("onramp_journeys_total", journey="x", outcome="started") as started,
        app.app_context(),
    ):
        emit("journey.started", None, journey_id="x")
        db.session.rollback()
        emit("journey.started", None, journey_id="x")
        db.session.commit()
    assert started == [1.0]


def test_failed_admin_sign_ins_are_counted(app: Flask, client: FlaskClient) -> None:
    email = make_user(app, "viewer")
    with _delta("onramp_admin_login_failures_total") as failures:
        client.post("/admin/login", data={"email": email, "password": "not the password"})
        sign_in(client, email)
    assert failures == [1.0]


def test_refused_provider_webhooks_are_counted(client: FlaskClient) -> None:
    with _delta("onramp_provider_webhooks_rejected_total", platform="xero", status="404") as c:
        client.post("/webhooks/platforms/xero", data=b"{}")
    assert c == [1.0]


def test_refused_journey_links_are_counted(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        genuine = journey_link("no-such-customer", "default").removeprefix("http://localhost")
        expired = journey_link("x", "default", expires_at=1).removeprefix("http://localhost")
    with (
        _delta("onramp_rejected_links_total", reason="invalid") as invalid,
        _delta("onramp_rejected_links_total", reason="expired") as gone,
        _delta("onramp_rejected_links_total", reason="unknown") as unknown,
    ):
        assert client.get(genuine[:-3] + "abc").status_code == 400
        assert client.get(expired).status_code == 410
        assert client.get(genuine).status_code == 404
    assert (invalid, gone, unknown) == ([1.0], [1.0], [1.0])

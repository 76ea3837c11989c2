"""Breaks are noticed by the background worker: each way a connection can break is
played by the Sandbox (its Connected apps page, its refusals, its change notifications),
and one worker cycle makes the connection ``deauthorized`` with that reason, tells the
business (connection.deauthorized) and counts it (onramp_connection_breaks_total)."""

from __future__ import annotations

import threading
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from prometheus_client import REGISTRY
from sqlalchemy import select
from werkzeug.test import TestResponse

from app import clock as app_clock
from app.admin.timeline import timeline
from app.connections import health
from app.connections.lifecycle import refresh_expiry
from app.extensions import db
from app.jobs import run
from app.models import Connection, Customer, OutboxEvent
from app.sandbox import grants
from app.sandbox.change_notifications import signed_event
from app.sandbox.data import SANDBOX_LOGIN_EMAIL, SANDBOX_LOGIN_PASSWORD
from tests.conftest import Clock
from tests.integration.conftest import LiveSandbox
from tests.integration.test_platform_flows import (
    CHOSEN,
    _at_software_chosen,
    _connect,
    _expire_tokens,
    _latest,
    impersonated,
)
from tests.pages import text_of

__all__ = ["impersonated"]  # the fixture, shared with the platform flows


class ConnectedApps:
    """The Sandbox's Connected apps page, signed in as the test user."""

    def __init__(self, sandbox: LiveSandbox):
        self.sandbox = sandbox
        self.browser = sandbox.app.test_client()
        self.browser.post(
            "/sandbox/connections",
            data={
                "email": SANDBOX_LOGIN_EMAIL,
                "password": SANDBOX_LOGIN_PASSWORD,
                "sign_in": "Sign in",
            },
        )

    def grant_id(self, platform: str) -> str:
        with self.sandbox.app.app_context():
            (grant,) = grants.granted(SANDBOX_LOGIN_EMAIL, platform)
            return grant.grant_id

    def press(self, platform: str, button: str, **fields: str) -> TestResponse:
        """Press ``button`` (expire, remove or disconnect) of the platform's grant."""
        data = {"grant": self.grant_id(platform), button: "pressed", **fields}
        return self.browser.post("/sandbox/connections", data=data)

    def revoke(self, platform: str) -> None:
        answer = self.browser.post(
            "/sandbox/connections", data={"organisation": CHOSEN.id, "dialect": platform}
        )
        assert answer.status_code == 303


def _breaks(platform: str, reason: str) -> float:
    labels = {"platform": platform, "reason": reason}
    return REGISTRY.get_sample_value("onramp_connection_breaks_total", labels) or 0.0


def _one_cycle(app: Flask) -> None:
    """One pass of the background worker, as gunicorn runs it."""
    with app.app_context():
        run("test-worker", threading.Event(), once=True)


def _breaks_in_one_cycle(app: Flask, platform: str, reason: str) -> None:
    """One worker cycle deauthorizes the connection with ``reason``, tells the business
    and counts the break."""
    before = _breaks(platform, reason)
    _one_cycle(app)
    broken = _latest(app)
    assert (broken.status, broken.last_error, broken.token_ciphertext) == (
        "deauthorized",
        reason,
        None,
    )
    with app.app_context():
        told = db.session.scalars(
            select(OutboxEvent).where(OutboxEvent.type == "connection.deauthorized")
        ).all()
        assert [(e.data["connection_id"], e.data["reason"]) for e in told] == [
            (broken.public_id, reason)
        ]
    assert _breaks(platform, reason) == before + 1


def _linked(app: Flask, live_sandbox: LiveSandbox, platform: str) -> FlaskClient:
    client = _at_software_chosen(app, platform)
    _connect(client, live_sandbox, platform)
    assert _latest(app).status == "linked"
    return client


def test_a_refused_refresh_is_noticed_by_the_worker(
    impersonated: Flask, live_sandbox: LiveSandbox
) -> None:
    app = impersonated
    _linked(app, live_sandbox, "xero")
    live_sandbox.app.config["SANDBOX_REFRESH_FAILS"] = True
    _expire_tokens(app)
    _breaks_in_one_cycle(app, "xero", "refresh_refused")


# Sage's access tokens last five minutes: there, the refresh ahead of expiry finds it first.
@pytest.mark.parametrize("platform", ["xero", "quickbooks", "freeagent"])
def test_access_revoked_at_the_platform_is_found_by_the_health_check(
    impersonated: Flask, live_sandbox: LiveSandbox, platform: str
) -> None:
    app = impersonated
    _linked(app, live_sandbox, platform)
    ConnectedApps(live_sandbox).revoke(platform)
    _breaks_in_one_cycle(app, platform, "revoked_at_provider")


def test_a_provider_webhook_makes_the_check_come_at_once(
    impersonated: Flask, live_sandbox: LiveSandbox
) -> None:
    app = impersonated
    app.config["XERO_WEBHOOK_KEY"] = "xero-webhook-key"
    _linked(app, live_sandbox, "xero")
    _one_cycle(app)
    checked = _latest(app)
    assert (checked.status, checked.health_checked_at is not None) == ("linked", True)

    # Disconnected inside Xero: the next check is hours away, so nothing is noticed yet...
    ConnectedApps(live_sandbox).revoke("xero")
    _one_cycle(app)
    assert _latest(app).status == "linked"

    # ... until Xero says something changed there.
    with live_sandbox.app.app_context():
        body, headers = signed_event("xero", CHOSEN.id, "xero-webhook-key")
    answered = app.test_client().post("/webhooks/platforms/xero", data=body, headers=headers)
    assert answered.json == {"received": True, "connections": 1}
    _breaks_in_one_cycle(app, "xero", "revoked_at_provider")


def test_intuits_disconnect_url_has_the_connection_checked_and_guides_the_customer_back(
    impersonated: Flask, live_sandbox: LiveSandbox
) -> None:
    app = impersonated
    disconnected_url = "http://localhost/connect/quickbooks/disconnected"
    live_sandbox.app.config["SANDBOX_DISCONNECT_URLS"] = {"quickbooks": disconnected_url}
    try:
        _linked(app, live_sandbox, "quickbooks")
        _one_cycle(app)
        assert _latest(app).status == "linked"

        # Disconnected inside QuickBooks: Intuit sends the browser to the Disconnect URL.
        sent = ConnectedApps(live_sandbox).press("quickbooks", "disconnect")
        assert sent.status_code == 303
        assert sent.location.startswith(disconnected_url + "?")
        realm = parse_qs(urlsplit(sent.location).query)["realmId"]
        assert realm == [_latest(app).org_id]
    finally:
        live_sandbox.app.config["SANDBOX_DISCONNECT_URLS"] = {}

    page = app.test_client().get(sent.location.removeprefix("http://localhost"))
    assert page.status_code == 200
    words = text_of(page)
    assert "Disconnected from QuickBooks Online" in words
    assert "Test Lending will check its connection" in words
    assert 'href="/my"' in page.get_data(as_text=True)
    # Anyone may open that address: it disconnects nothing by itself.
    assert _latest(app).status == "linked"
    _breaks_in_one_cycle(app, "quickbooks", "revoked_at_provider")


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/connect/quickbooks/disconnected", 400),
        ("/connect/quickbooks/disconnected?realmId=%3Cscript%3E", 400),
        ("/connect/xero/disconnected?realmId=123", 404),
        ("/connect/nowhere/disconnected?realmId=123", 404),
    ],
)
def test_a_disconnect_url_without_a_company_it_knows_is_a_friendly_refusal(
    client: FlaskClient, path: str, status: int
) -> None:
    page = client.get(path)
    assert page.status_code == status
    assert "<h1>" in page.get_data(as_text=True)


def test_flask_platforms_list_names_the_disconnect_url_to_register_with_intuit(
    app: Flask,
) -> None:
    listed = app.test_cli_runner().invoke(args=["platforms", "list"]).output
    assert "disconnect URL: http://localhost/connect/quickbooks/disconnected" in listed
    assert listed.count("disconnect URL:") == 1


@pytest.mark.parametrize("platform", ["xero", "quickbooks", "sage", "freeagent"])
def test_an_organisation_removed_at_the_platform_is_found_by_the_health_check(
    impersonated: Flask, live_sandbox: LiveSandbox, platform: str
) -> None:
    app = impersonated
    _linked(app, live_sandbox, platform)
    page = ConnectedApps(live_sandbox).press(platform, "remove")
    assert page.status_code == 303
    _breaks_in_one_cycle(app, platform, "organisation_removed")


def test_a_refresh_token_past_its_absolute_expiry_ends_the_connection(
    impersonated: Flask, live_sandbox: LiveSandbox, clock: Clock
) -> None:
    app = impersonated
    _linked(app, live_sandbox, "quickbooks")
    # Intuit's five-year hard expiry, from the token response.
    assert _latest(app).refresh_expires_at is not None
    assert _latest(app).refresh_expires_at > clock.now + timedelta(days=4 * 365)

    ConnectedApps(live_sandbox).press("quickbooks", "expire", minutes="30")
    _expire_tokens(app)
    _one_cycle(app)  # refreshed: the answer says when the refresh token now expires
    refreshed = _latest(app)
    assert (refreshed.status, refreshed.token_version) == ("linked", 1)
    assert refreshed.refresh_expires_at is not None
    assert refreshed.refresh_expires_at <= clock.now + timedelta(minutes=30)

    clock.advance(timedelta(minutes=31))
    _breaks_in_one_cycle(app, "quickbooks", "refresh_expired")


def _expiring_events(app: Flask) -> list[dict[str, object]]:
    with app.app_context():
        return [
            event.data
            for event in db.session.scalars(
                select(OutboxEvent).where(OutboxEvent.type == "connection.expiring")
            )
        ]


def test_a_refresh_token_nearing_its_absolute_expiry_is_announced_once(
    impersonated: Flask, live_sandbox: LiveSandbox, clock: Clock
) -> None:
    """Before it breaks: the business hears connection.expiring once the connection is
    within its reminder window (here half the hour the platform gave), counted, and on
    the timeline; mail or not."""
    app = impersonated
    _linked(app, live_sandbox, "quickbooks")
    ConnectedApps(live_sandbox).press("quickbooks", "expire", minutes="60")
    _expire_tokens(app)
    _one_cycle(app)  # refreshed: the answer says the refresh token ends within the hour
    assert _expiring_events(app) == []

    labels = {"platform": "quickbooks", "outcome": "expiring", "reason": ""}
    before = REGISTRY.get_sample_value("onramp_connection_outcomes_total", labels) or 0.0
    clock.advance(timedelta(minutes=31))
    _one_cycle(app)
    _one_cycle(app)
    connection = _latest(app)
    assert connection.status == "linked" and connection.refresh_expires_at is not None
    expires_at = connection.refresh_expires_at.isoformat().replace("+00:00", "Z")
    [told] = _expiring_events(app)
    assert (told["connection_id"], told["expires_at"]) == (connection.public_id, expires_at)
    assert REGISTRY.get_sample_value("onramp_connection_outcomes_total", labels) == before + 1
    with app.app_context():
        customer = db.session.get(Customer, connection.customer_id)
        assert customer is not None
        entries = timeline(customer, [db.session.get(Connection, connection.id)])
    assert [e.details for e in entries if e.title.startswith("connection.expiring")] == [
        [f"refresh_token_expires_at: {expires_at}"]
    ]


def test_a_throttled_health_check_breaks_nothing_and_waits_as_asked(
    impersonated: Flask, live_sandbox: LiveSandbox, clock: Clock
) -> None:
    app = impersonated
    _linked(app, live_sandbox, "xero")
    live_sandbox.app.config["SANDBOX_THROTTLE_SECONDS"] = 120
    try:
        _one_cycle(app)
    finally:
        live_sandbox.app.config["SANDBOX_THROTTLE_SECONDS"] = None
    assert (_latest(app).status, _latest(app).last_error) == ("linked", None)
    with app.app_context():
        assert health.due_for_check() == []
    clock.advance(timedelta(seconds=121))
    with app.app_context():
        assert health.due_for_check() == [_latest(app).id]
    _one_cycle(app)
    assert _latest(app).health_checked_at == clock.now
    assert _latest(app).status == "linked"


def test_a_connection_one_worker_checks_is_not_asked_about_by_another(
    impersonated: Flask, live_sandbox: LiveSandbox
) -> None:
    """Several workers and instances list the same due connections: the first to claim
    one asks its platform; the others pass it by, until it falls due again."""
    app = impersonated
    _linked(app, live_sandbox, "xero")
    with app.app_context():
        [due] = health.due_for_check()
        listed_by_another = health.due_for_check()
        assert health.check_connection(due) == "healthy"
        assert [health.check_connection(cid) for cid in listed_by_another] == ["skipped"]
        assert health.due_for_check() == []


def test_the_timeline_says_why_a_connection_broke(
    impersonated: Flask, live_sandbox: LiveSandbox
) -> None:
    app = impersonated
    _linked(app, live_sandbox, "sage")
    ConnectedApps(live_sandbox).press("sage", "remove")
    _one_cycle(app)
    with app.app_context():
        connection = db.session.get(Connection, _latest(app).id)
        assert connection is not None
        customer = db.session.get(Customer, connection.customer_id)
        assert customer is not None
        entries = timeline(customer, [connection])
    broke = [
        e for e in entries if e.title == "Connection with Sage Business Cloud Accounting broke"
    ]
    assert [e.details for e in broke] == [[f"Why: {health.BREAK_REASONS['organisation_removed']}."]]


@pytest.mark.parametrize(
    ("token", "platform", "after"),
    [
        ({"x_refresh_token_hard_expires_in": 3600}, "quickbooks", timedelta(hours=1)),
        ({"refresh_token_expires_in": "86400"}, "sage", timedelta(days=1)),
        ({}, "netsuite", timedelta(days=7)),
        ({}, "xero", timedelta(days=60)),
    ],
)
def test_the_refresh_tokens_expiry_comes_from_the_vendor_else_the_catalogue(
    app: Flask, clock: Clock, token: dict[str, object], platform: str, after: timedelta
) -> None:
    with app.app_context():
        assert refresh_expiry(token, platform) == clock.now + after
        assert refresh_expiry({}, "myob") is None
    assert app_clock.now() == clock.now

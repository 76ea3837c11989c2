"""Each way a connection breaks, from the break to the repair: the Sandbox plays the
break, ONE pass of the background worker marks the connection with the right reason and
tells the business (connection.deauthorized); the customer has a repair link by email
(sent in that pass, or ahead of time for an expiry Onramp saw coming), and following it
restores the same connection (the id the business stores)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import OutboxEvent
from app.sandbox.change_notifications import signed_event
from tests.conftest import Clock
from tests.integration.conftest import LiveSandbox
from tests.integration.test_connection_health import ConnectedApps, _linked, _one_cycle
from tests.integration.test_platform_flows import CHOSEN, _expire_tokens, _latest, impersonated
from tests.mail_sink import Sink, smtp_sink

__all__ = ["impersonated"]  # the fixture, shared with the platform flows
CUSTOMER_EMAIL = "owner@bluebell.example"


def _refused(app: Flask, sandbox: LiveSandbox, _clock: Clock) -> None:
    sandbox.app.config["SANDBOX_REFRESH_FAILS"] = True
    _expire_tokens(app)


def _revoked(app: Flask, sandbox: LiveSandbox, _clock: Clock) -> None:
    ConnectedApps(sandbox).revoke("xero")


def _revoked_then_told(app: Flask, sandbox: LiveSandbox, _clock: Clock) -> None:
    _one_cycle(app)  # its first check, while all is well: the next is hours away
    ConnectedApps(sandbox).revoke("xero")
    with sandbox.app.app_context():
        body, headers = signed_event("xero", CHOSEN.id, "xero-webhook-key")
    app.test_client().post("/webhooks/platforms/xero", data=body, headers=headers)


def _revoked_then_told_by_intuit(app: Flask, sandbox: LiveSandbox, _clock: Clock) -> None:
    _one_cycle(app)  # its first check, while all is well: the next is hours away
    ConnectedApps(sandbox).revoke("quickbooks")
    with sandbox.app.app_context():
        body, headers = signed_event("quickbooks", CHOSEN.id, "intuit-verifier")
    told = app.test_client().post("/webhooks/platforms/quickbooks", data=body, headers=headers)
    assert told.json == {"received": True, "connections": 1}


def _disconnected_inside_quickbooks(app: Flask, sandbox: LiveSandbox, _clock: Clock) -> None:
    # Intuit sends the customer's browser to the app's Disconnect URL.
    _one_cycle(app)  # its first check, while all is well: the next is hours away
    disconnect_url = "http://localhost/connect/quickbooks/disconnected"
    sandbox.app.config["SANDBOX_DISCONNECT_URLS"] = {"quickbooks": disconnect_url}
    try:
        sent = ConnectedApps(sandbox).press("quickbooks", "disconnect")
    finally:
        sandbox.app.config["SANDBOX_DISCONNECT_URLS"] = {}
    assert sent.location.startswith(disconnect_url + "?")
    assert app.test_client().get(sent.location.removeprefix("http://localhost")).status_code == 200


def _removed(app: Flask, sandbox: LiveSandbox, _clock: Clock) -> None:
    ConnectedApps(sandbox).press("xero", "remove")


def _expired(app: Flask, sandbox: LiveSandbox, clock: Clock) -> None:
    # Intuit says when the refresh token expires (x_refresh_token_hard_expires_in).
    ConnectedApps(sandbox).press("quickbooks", "expire", minutes="30")
    _expire_tokens(app)
    _one_cycle(app)  # refreshed: the answer says when the refresh token now expires
    clock.advance(timedelta(minutes=31))


REVOKED = "revoked_at_provider"
BREAKS: dict[str, tuple[str, Callable[[Flask, LiveSandbox, Clock], None], str]] = {
    "refused at refresh": ("xero", _refused, "refresh_refused"),
    "revoked, found by the health check": ("xero", _revoked, REVOKED),
    "revoked, told by Xero's webhook": ("xero", _revoked_then_told, REVOKED),
    "revoked, told by Intuit's webhook": ("quickbooks", _revoked_then_told_by_intuit, REVOKED),
    "disconnected inside QuickBooks": ("quickbooks", _disconnected_inside_quickbooks, REVOKED),
    "organisation removed": ("xero", _removed, "organisation_removed"),
    "refresh token expired": ("quickbooks", _expired, "refresh_expired"),
}


@pytest.fixture
def sink(impersonated: Flask, live_sandbox: LiveSandbox) -> Iterator[Sink]:
    impersonated.config["XERO_WEBHOOK_KEY"] = "xero-webhook-key"
    impersonated.config["QUICKBOOKS_WEBHOOK_VERIFIER"] = "intuit-verifier"
    with smtp_sink() as (sink, settings):
        impersonated.config.update(settings)
        yield sink
    live_sandbox.app.config["SANDBOX_REFRESH_FAILS"] = False


@pytest.mark.parametrize("way", sorted(BREAKS))
def test_a_break_is_noticed_announced_emailed_and_repaired_keeping_the_id(
    impersonated: Flask, live_sandbox: LiveSandbox, sink: Sink, clock: Clock, way: str
) -> None:
    app = impersonated
    platform, play_the_break, reason = BREAKS[way]
    _linked(app, live_sandbox, platform)
    connected = _latest(app).public_id
    sink.messages.clear()
    play_the_break(app, live_sandbox, clock)

    _one_cycle(app)
    live_sandbox.app.config["SANDBOX_REFRESH_FAILS"] = False

    broken = _latest(app)
    assert (broken.public_id, broken.status, broken.last_error) == (
        connected,
        "deauthorized",
        reason,
    )
    with app.app_context():
        told = db.session.scalars(
            select(OutboxEvent).where(OutboxEvent.type == "connection.deauthorized")
        ).all()
    assert [(e.data["connection_id"], e.data["reason"]) for e in told] == [(connected, reason)]
    # By now the customer has a repair email: sent in that pass, or (an expiry Onramp saw
    # coming) ahead of time, and not again three days before the last.
    emails = [m for m in sink.to(CUSTOMER_EMAIL) if "reconnect" in str(m["Subject"])]
    assert len(emails) == 1
    text = str(emails[0].get_body(("plain",)).get_content())  # type: ignore[union-attr]
    link = re.search(r"http://localhost(/connect/repair/\S+)", text)
    assert link is not None

    # The customer follows it: straight to the platform (the Sandbox playing it), the same
    # organisation approved, the same connection linked again.
    browser = app.test_client()
    opened = browser.get(link.group(1))
    callback = live_sandbox.authorize(str(opened.location), "approve", organisation=1)
    browser.get(callback.removeprefix("http://localhost"), follow_redirects=True)
    repaired = _latest(app)
    assert (repaired.public_id, repaired.status, repaired.org_id) == (
        connected,
        "linked",
        broken.org_id,
    )

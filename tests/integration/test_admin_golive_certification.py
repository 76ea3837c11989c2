"""The go-live checklist's platform section: connections beside each vendor's cap, a
warning before the cap, and each certification item, passing or needing attention."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from app import clock
from app.connections import lifecycle
from app.customers.records import create_customer
from app.extensions import db
from app.models import Connection, Customer
from app.ops import certification
from app.ops.readiness import Check
from app.platforms import PLATFORMS, Platform, effective
from tests.admin import signed_in_as
from tests.integration.api_helpers import Api, create_key
from tests.integration.conftest import REQUIRED_CONSENTS, LiveSandbox
from tests.integration.webhook_receiver import Receiver, Reply

CONFIGURED = {
    f"{key}_{part}": "configured"
    for key in ("XERO", "QUICKBOOKS", "SAGE")
    for part in ("CLIENT_ID", "CLIENT_SECRET")
}


@pytest.fixture
def ctx(app: Flask) -> Iterator[Flask]:
    app.config.update(CONFIGURED)
    with app.test_request_context():
        yield app


@pytest.fixture
def bare() -> Iterator[Flask]:
    """An application serving none of Onramp's pages and installing none of its rules."""
    other = Flask(__name__)
    other.config.update(PUBLIC_URL="https://onramp.example", LOG_FORMAT="json")
    with other.test_request_context():
        yield other


def _platform(key: str) -> Platform:
    return effective(PLATFORMS[key])


def _check(name: str, key: str) -> Check:
    return certification.CHECKS[name](_platform(key))


def _attention(check: Check, *words: str) -> None:
    assert not check.ready, check.detail
    assert check.fix is not None
    for word in words:
        assert word in f"{check.detail} {check.fix}", (word, check)


def _linked(platform: str, count: int, status: str = "linked", **values: Any) -> None:
    customer = create_customer("Bluebell Bakery Ltd", "owner@bluebell.example")
    for _ in range(count):
        db.session.add(
            Connection(customer_id=customer.id, platform=platform, status=status, **values)
        )
    db.session.commit()


def test_every_check_the_catalogue_names_exists() -> None:
    named = {name for p in PLATFORMS.values() for name in p.certification.checks}
    assert named <= set(certification.CHECKS)
    assert PLATFORMS["xero"].certification.connection_cap == 25
    assert PLATFORMS["quickbooks"].certification.connection_cap == 500


# Caps


def test_linked_connections_are_counted_beside_each_cap(app: Flask) -> None:
    app.config.update(CONFIGURED)
    with app.app_context():
        _linked("xero", 3)
        _linked("xero", 2, status="failed")
        _linked("quickbooks", 2)
    page = signed_in_as(app, "viewer").get("/admin/go-live").text
    assert re.search(r"<strong>3 of 25</strong>\s*connections linked", page)
    assert "depends\non your Xero plan" in page or "depends on your Xero plan" in page
    assert re.search(r"<strong>2 of 500</strong>\s*connections linked", page)
    assert "Intuit reviews apps that serve more than 500" in page
    assert re.search(r"<strong>0</strong> connections linked; no cap is known for Sage", page)
    assert "Warning" not in page


def test_a_cap_setting_replaces_the_catalogues_figure(ctx: Flask) -> None:
    ctx.config["XERO_CONNECTION_CAP"] = 5
    _linked("xero", 3)
    (xero,) = [cap for cap in certification.caps() if cap.platform == "xero"]
    assert (xero.connections, xero.cap, xero.near) == (3, 5, False)


def test_admins_are_warned_before_the_cap_is_reached(app: Flask) -> None:
    app.config.update(CONFIGURED, XERO_CONNECTION_CAP=5)
    with app.app_context():
        _linked("xero", 4)
        _linked("quickbooks", 399)
    admin = signed_in_as(app, "viewer")
    warning = "Warning: Xero has 4 of 5 connections linked."
    for page in (admin.get("/admin/").text, admin.get("/admin/go-live").text):
        assert warning in page
        assert "The cap is near." in page
        assert "QuickBooks Online has" not in page  # 399 of 500 is under 80%
    with app.app_context():
        _linked("xero", 1)
    assert "The cap is reached: new connections may be refused." in admin.get("/admin/").text


def test_no_warning_on_the_overview_below_the_cap(app: Flask) -> None:
    app.config.update(CONFIGURED, XERO_CONNECTION_CAP=5)
    with app.app_context():
        _linked("xero", 3)
    assert "Connection caps" not in signed_in_as(app, "viewer").get("/admin/").text


def test_only_configured_platforms_get_a_section(app: Flask) -> None:
    app.config.update(XERO_CLIENT_ID="id", XERO_CLIENT_SECRET="secret")
    page = signed_in_as(app, "viewer").get("/admin/go-live").text
    assert '<h3 id="golive-xero">Xero</h3>' in page
    assert 'id="golive-quickbooks"' not in page and 'id="golive-sage"' not in page
    assert 'aria-label="Attention"' in page  # the app's name is not known yet


# Xero


def test_xero_app_name(ctx: Flask) -> None:
    _attention(_check("app_name", "xero"), "ONRAMP_XERO_APP_NAME", "not known")
    ctx.config["XERO_APP_NAME"] = "Bluebell Xero Sync"
    _attention(_check("app_name", "xero"), "contains “Xero”", "Rename the app")
    ctx.config["XERO_APP_NAME"] = "Bluebell Lending"
    assert _check("app_name", "xero").ready


def test_xero_scopes(ctx: Flask) -> None:
    shipped = _check("read_only_scopes", "xero")
    assert shipped.ready and "accounting.invoices.read" in shipped.detail
    ctx.config["PLATFORM_OVERRIDES"] = {
        "xero": {"scopes": ["offline_access", "accounting.transactions", "accounting.contacts"]}
    }
    _attention(
        _check("read_only_scopes", "xero"),
        "write access (accounting.contacts)",
        "the broad accounting.transactions",
    )


def test_xero_connection_page(ctx: Flask, bare: Flask) -> None:
    served = certification.connection_page(PLATFORMS["xero"])
    _attention(served, "no page where customers see and end their connections")


def test_xero_connection_page_served(ctx: Flask) -> None:
    check = _check("connection_page", "xero")
    assert check.ready and "http://localhost/my" in check.detail


def test_xero_disconnect_made_in_xero(ctx: Flask) -> None:
    _attention(
        _check("disconnect_in_platform", "xero"),
        "http://localhost/webhooks/platforms/xero",
        "ONRAMP_XERO_WEBHOOK_KEY",
    )
    # Without it, the health check (Xero's GET /connections) still finds the disconnect.
    assert (
        "next health check, up to 6 hours later" in _check("disconnect_in_platform", "xero").detail
    )
    ctx.config["XERO_WEBHOOK_KEY"] = "signing-key"
    check = _check("disconnect_in_platform", "xero")
    assert check.ready and "guided to reconnect" in check.detail


def test_xero_offline_access(ctx: Flask) -> None:
    assert _check("offline_access", "xero").ready
    ctx.config["PLATFORM_OVERRIDES"] = {"xero": {"scopes": ["accounting.settings.read"]}}
    _attention(_check("offline_access", "xero"), "no refresh token")


def test_xero_rate_limits_say_what_onramp_does(ctx: Flask) -> None:
    check = _check("rate_limits", "xero")
    assert check.ready and "429" in check.detail and "next refresh" in check.detail


@pytest.fixture
def linked_sandbox(app: Flask, customer_client: FlaskClient, live_sandbox: LiveSandbox) -> int:
    app.config["SANDBOX_URL"] = live_sandbox.url
    _connect(customer_client, live_sandbox, "sandbox")
    with app.app_context():
        connection = db.session.scalars(select(Connection)).one()
        return connection.id


def test_a_429_from_the_token_endpoint_leaves_the_connection_linked(
    app: Flask, linked_sandbox: int
) -> None:
    """What the rate-limit item states: a 429 is tried again later, never a revocation."""
    receiver = Receiver()
    try:
        receiver.answer(Reply(429, {"Retry-After": "60"}))
        app.config["PLATFORM_OVERRIDES"] = {"sandbox": {"token_url": receiver.url}}
        with app.app_context():
            db.session.execute(
                update(Connection).values(token_expires_at=clock.now() + timedelta(seconds=30))
            )
            db.session.commit()
            assert lifecycle.refresh_due() == {"failed": 1}
            connection = db.session.get(Connection, linked_sandbox)
            assert connection is not None
            assert (connection.status, connection.token_ciphertext is not None) == ("linked", True)
            assert lifecycle.due_for_refresh() == [linked_sandbox]  # tried again next time
        assert len(receiver.requests) == 1
    finally:
        receiver.close()


# QuickBooks


def test_quickbooks_disconnect_and_reconnect_urls_not_served(ctx: Flask, bare: Flask) -> None:
    _attention(
        certification.disconnect_urls(PLATFORMS["quickbooks"]),
        "https://onramp.example/connect/quickbooks/disconnected",
        "https://onramp.example/connect/quickbooks/reconnect",
        "since January 2026",
    )


def test_quickbooks_disconnect_and_reconnect_urls_served(app: Flask) -> None:
    # Whichever branch serves them, the check finds them by their address.
    app.add_url_rule("/connect/quickbooks/disconnected", "test_disconnected", lambda: "")
    app.add_url_rule("/connect/<platform>/reconnect", "test_reconnect", lambda platform: "")
    app.config.update(CONFIGURED)
    with app.test_request_context():
        check = _check("disconnect_urls", "quickbooks")
    assert check.ready
    assert "Disconnect URL http://localhost/connect/quickbooks/disconnected" in check.detail
    assert "Reconnect URL http://localhost/connect/quickbooks/reconnect" in check.detail


def test_quickbooks_request_ids(ctx: Flask) -> None:
    assert _check("request_ids", "quickbooks").ready
    _linked("quickbooks", 1, last_provider_request_id="1-abc")
    assert _check("request_ids", "quickbooks").ready
    _linked("quickbooks", 2)
    _attention(_check("request_ids", "quickbooks"), "2 linked connection(s) have no intuit_tid")


def test_quickbooks_tokens_refreshed_only_when_needed(ctx: Flask) -> None:
    check = _check("refresh_when_needed", "quickbooks")
    assert check.ready and "within 5 min" in check.detail and "last 60 min" in check.detail
    ctx.config["PLATFORM_OVERRIDES"] = {"quickbooks": {"access_token_seconds": 120}}
    _attention(_check("refresh_when_needed", "quickbooks"), "every check would refresh")


def test_quickbooks_logs(ctx: Flask) -> None:
    assert _check("filtered_logs", "quickbooks").ready
    ctx.config["LOG_FORMAT"] = "text"
    _attention(_check("filtered_logs", "quickbooks"), "ONRAMP_LOG_FORMAT=json")


def test_quickbooks_no_store(ctx: Flask, bare: Flask) -> None:
    _attention(certification.no_store(PLATFORMS["quickbooks"]), "could keep customers' data")


def test_quickbooks_no_store_installed(ctx: Flask) -> None:
    check = _check("no_store", "quickbooks")
    assert check.ready and "Cache-Control: no-store" in check.detail


# Sage


def test_sage_callbacks_over_https(ctx: Flask) -> None:
    _attention(_check("https_callbacks", "sage"), "http://localhost/connect/sage/callback")
    ctx.config["PUBLIC_URL"] = "https://onramp.example"
    check = _check("https_callbacks", "sage")
    assert check.ready and "https://onramp.example/connect/sage/callback" in check.detail


# intuit_tid, against the Sandbox playing QuickBooks


def _connect(client: FlaskClient, live_sandbox: LiveSandbox, platform: str) -> None:
    client.post("/journey/welcome")
    client.post("/journey/consent", data=REQUIRED_CONSENTS)
    client.post("/journey/software", data={"platform": platform})
    start = client.post("/journey/connect")
    callback = live_sandbox.authorize(str(start.location), "approve")
    assert client.get(callback.removeprefix("http://localhost")).status_code == 303


def _quickbooks(app: Flask) -> Connection:
    with app.app_context():
        connection = db.session.scalars(
            select(Connection).where(Connection.platform == "quickbooks")
        ).one()
        db.session.expunge(connection)
        return connection


def test_intuit_tid_is_kept_for_the_exchange_the_refresh_and_a_refusal(
    app: Flask, customer_client: FlaskClient, live_sandbox: LiveSandbox
) -> None:
    app.config.update(SANDBOX_URL=live_sandbox.url, SANDBOX_PLAYS=["quickbooks"])
    _connect(customer_client, live_sandbox, "quickbooks")
    linked = _quickbooks(app)
    assert linked.status == "linked"
    assert linked.last_provider_request_id and linked.last_provider_request_id.startswith("1-")
    timeline = _timeline(app, linked)
    assert f"Latest request id at QuickBooks Online: {linked.last_provider_request_id}" in timeline

    with app.app_context():
        db.session.execute(
            update(Connection).values(token_expires_at=clock.now() + timedelta(seconds=30))
        )
        db.session.commit()
        assert lifecycle.refresh_due() == {"refreshed": 1}
    refreshed = _quickbooks(app).last_provider_request_id
    assert refreshed and refreshed != linked.last_provider_request_id

    live_sandbox.app.config["SANDBOX_REFRESH_FAILS"] = True
    try:
        with app.app_context():
            db.session.execute(
                update(Connection).values(token_expires_at=clock.now() + timedelta(seconds=30))
            )
            db.session.commit()
            assert lifecycle.refresh_due() == {"deauthorized": 1}
    finally:
        live_sandbox.app.config["SANDBOX_REFRESH_FAILS"] = False
    refused = _quickbooks(app)
    assert refused.status == "deauthorized"
    assert refused.last_provider_request_id not in (None, refreshed)
    with app.test_request_context():
        assert certification.CHECKS["request_ids"](_platform("quickbooks")).ready


def test_platforms_that_send_no_request_id_keep_none(
    app: Flask, customer_client: FlaskClient, live_sandbox: LiveSandbox
) -> None:
    app.config.update(SANDBOX_URL=live_sandbox.url, SANDBOX_PLAYS=["xero"])
    _connect(customer_client, live_sandbox, "xero")
    with app.app_context():
        connection = db.session.scalars(select(Connection)).one()
        assert (connection.status, connection.last_provider_request_id) == ("linked", None)


def _timeline(app: Flask, connection: Connection) -> str:
    with app.app_context():
        customer = db.session.get(Customer, connection.customer_id)
        assert customer is not None
        public_id = customer.public_id
    return signed_in_as(app, "viewer").get(f"/admin/customers/{public_id}").text


# Cache-Control: no-store on every page that shows personal data or tokens

PUBLIC_BLUEPRINTS = {"ops", "metrics", "sandbox", "sandbox_vendors"}


def test_every_area_is_either_never_stored_or_public(app: Flask) -> None:
    """A new area must choose: its pages name customers (no-store) or they don't."""
    from app.security import NO_STORE_BLUEPRINTS

    assert set(app.blueprints) <= set(NO_STORE_BLUEPRINTS) | PUBLIC_BLUEPRINTS
    assert set(NO_STORE_BLUEPRINTS) <= set(app.blueprints)


def test_sensitive_pages_are_sent_with_no_store(
    app: Flask, customer_client: FlaskClient, live_sandbox: LiveSandbox
) -> None:
    app.config["SANDBOX_URL"] = live_sandbox.url
    steps = [customer_client.get(f"/journey/{step}") for step in ("welcome",)]
    _connect(customer_client, live_sandbox, "sandbox")
    customer = customer_client
    my = customer.get("/my")
    receipt = re.search(r'href="(/my/receipts/[^"/.]+)"', my.text)
    assert receipt is not None, my.text
    with app.app_context():
        connection = db.session.scalars(select(Connection)).one()
        connection_id = connection.public_id
    api = Api(app.test_client(), create_key(app, "read", "credentials"))
    admin = signed_in_as(app, "viewer")
    pages = {
        "journey step": steps[0],
        "journey done": customer.get("/journey/done"),
        "customer page": my,
        "receipt": customer.get(receipt.group(1)),
        "receipt file": customer.get(receipt.group(1) + ".json"),
        "API connections": api.get("/api/v1/connections"),
        "API credentials": api.get(f"/api/v1/connections/{connection_id}/credentials"),
        "admin overview": admin.get("/admin/"),
        "admin customers": admin.get("/admin/customers"),
        "admin go-live": admin.get("/admin/go-live"),
        "admin sign-in": app.test_client().get("/admin/login"),
    }
    for name, response in pages.items():
        assert response.status_code == 200, (name, response.status_code)
        assert response.headers.get("Cache-Control") == "no-store", name
    # What names no one may be kept.
    assert app.test_client().get("/healthz").headers.get("Cache-Control") != "no-store"

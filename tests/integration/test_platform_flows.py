"""Every catalogue platform's whole lifecycle against the Sandbox playing that vendor:
the catalogue's vendor hosts swapped for the Sandbox's (``SANDBOX_PLAYS``), the vendor's
paths, parameters, client authentication, token fields and look-up bodies kept. Connect
(the organisation found the vendor's way, in the vendor's shapes), refresh,
deauthorization, reconnect and disconnect — all over real HTTP on this machine."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from app import clock
from app.connections import lifecycle
from app.customers.records import create_customer
from app.engine.loading import load_directory
from app.engine.registry import EXTENSION_KEY
from app.extensions import db
from app.links import journey_link
from app.models import Connection
from app.platforms import PLATFORMS
from app.sandbox.change_notifications import signed_event, xero_intent_to_receive
from app.sandbox.data import ORGANISATIONS
from app.sandbox.dialects import dialect_organisation_id
from tests.integration.conftest import LiveSandbox

REAL_PLATFORMS = sorted(key for key in PLATFORMS if key != "sandbox")
CHOSEN = ORGANISATIONS[1]
# What each vendor's answers give the business beside the organisation id.
EXPECTED_DETAILS = {
    "xero": ("connection_id", "tenant_type"),
    "freshbooks": ("account_id", "business_uuid", "role"),
    "zoho_books": ("api_domain",),
    "business_central": ("environment",),
}


@pytest.fixture
def impersonated(app: Flask, live_sandbox: LiveSandbox, tmp_path: Path) -> Iterator[Flask]:
    """Every real platform played by the Sandbox; a journey offering them all."""
    app.config["SANDBOX_URL"] = live_sandbox.url
    app.config["SANDBOX_PLAYS"] = REAL_PLATFORMS
    app.config["NETSUITE_ACCOUNT_ID"] = "TSTDRV1234567"
    journeys = tmp_path / "journeys"
    journeys.mkdir()
    (journeys / "all.yaml").write_text(
        yaml.safe_dump(
            {
                "id": "all",
                "name": "Every platform",
                "business": {"name": "Test Lending", "purpose": "to test every platform"},
                "steps": [
                    {"id": "welcome", "type": "welcome", "title": "Welcome"},
                    {
                        "id": "software",
                        "type": "platform_select",
                        "title": "Software",
                        "platforms": REAL_PLATFORMS,
                    },
                    {"id": "connect", "type": "connect", "title": "Connect"},
                    {"id": "done", "type": "done", "title": "Done"},
                ],
            }
        )
    )
    app.extensions[EXTENSION_KEY] = load_directory(journeys)
    yield app
    live_sandbox.app.config["SANDBOX_REFRESH_FAILS"] = False


def _connect(client: FlaskClient, live_sandbox: LiveSandbox, platform: str) -> str:
    """Sign in at the 'platform' and come back, choosing the organisation if asked;
    returns the id the vendor gives the chosen organisation."""
    start = client.post("/journey/connect")
    assert urlsplit(start.location).path.startswith(urlsplit(live_sandbox.url).path + "/v/")
    callback = live_sandbox.authorize(str(start.location), "approve", organisation=1)
    query = parse_qs(urlsplit(callback).query)
    spec = PLATFORMS[platform].organisation
    vendor_id = dialect_organisation_id(platform, CHOSEN)
    if spec.strategy == "redirect_param":
        assert query[spec.id] == [vendor_id]  # named on the redirect, as the vendor does
    back = client.get(callback.removeprefix("http://localhost"))
    if back.location.endswith("/journey/organisation"):
        # The vendor's list named several: the customer picks theirs.
        assert spec.strategy in ("list_api", "graphql")
        choices = client.get("/journey/organisation").get_data(as_text=True)
        assert CHOSEN.name in choices
        back = client.post("/journey/organisation", data={"organisation": vendor_id})
    assert back.location.endswith("/journey/done"), back.location
    return vendor_id


def _at_software_chosen(app: Flask, platform: str) -> FlaskClient:
    """A new customer's browser that has opened its link and chosen ``platform``."""
    with app.app_context():
        customer = create_customer("Bluebell Bakery Ltd", "owner@bluebell.example")
        link = journey_link(customer.public_id, "all").removeprefix("http://localhost")
    client = app.test_client()
    client.get(link)
    client.post("/journey/welcome")
    client.post("/journey/software", data={"platform": platform})
    return client


def _latest(app: Flask) -> Connection:
    with app.app_context():
        connection = db.session.scalars(select(Connection).order_by(Connection.id.desc())).first()
        assert connection is not None
        db.session.expunge(connection)
        return connection


def _expire_tokens(app: Flask) -> None:
    with app.app_context():
        db.session.execute(
            update(Connection).values(token_expires_at=clock.now() + timedelta(seconds=5))
        )
        db.session.commit()


@pytest.mark.parametrize("platform", REAL_PLATFORMS)
def test_a_platforms_whole_lifecycle(
    impersonated: Flask, live_sandbox: LiveSandbox, platform: str
) -> None:
    app = impersonated
    client = _at_software_chosen(app, platform)

    # Connect: the organisation is found the vendor's way, in the vendor's shapes.
    vendor_id = _connect(client, live_sandbox, platform)
    linked = _latest(app)
    assert (linked.platform, linked.status, linked.org_id) == (platform, "linked", vendor_id)
    assert CHOSEN.name in (linked.org_name or "") or linked.org_name == vendor_id
    assert set(linked.org_details or {}) == set(EXPECTED_DETAILS.get(platform, ()))

    # Refresh before expiry: a new, rotated token.
    _expire_tokens(app)
    with app.app_context():
        assert lifecycle.refresh_due() == {"refreshed": 1}
    assert _latest(app).token_version == 1

    # The platform refuses the next refresh: deauthorized, tokens gone.
    live_sandbox.app.config["SANDBOX_REFRESH_FAILS"] = True
    _expire_tokens(app)
    with app.app_context():
        assert lifecycle.refresh_due() == {"deauthorized": 1}
    live_sandbox.app.config["SANDBOX_REFRESH_FAILS"] = False
    assert (_latest(app).status, _latest(app).token_ciphertext) == ("deauthorized", None)

    # Reconnect from a link: the platform is known, the same organisation comes back.
    renew = app.test_cli_runner().invoke(
        args=["connections", "reconnect-link", linked.public_id, "--journey", "all"]
    )
    again = app.test_client()
    again.get(renew.output.strip().removeprefix("http://localhost"))
    assert again.post("/journey/welcome").location.endswith("/journey/connect")
    start = again.post("/journey/connect")
    callback = live_sandbox.authorize(str(start.location), "approve", organisation=1)
    assert again.get(callback.removeprefix("http://localhost")).location.endswith("/journey/done")
    renewed = _latest(app)
    assert (renewed.status, renewed.org_id) == ("linked", vendor_id)

    # Disconnect: revoked at the platform, tokens forgotten.
    with app.app_context():
        connection = db.session.get(Connection, renewed.id)
        assert connection is not None
        assert lifecycle.disconnect(connection) is True
    assert (_latest(app).status, _latest(app).token_ciphertext) == ("disconnected", None)


@pytest.mark.parametrize("platform", ["xero", "quickbooks"])
def test_a_vendors_change_notification_reaches_its_connection(
    impersonated: Flask, live_sandbox: LiveSandbox, platform: str
) -> None:
    """The Sandbox playing Xero or QuickBooks signs a change notification in that vendor's
    current format (Xero's events, Intuit's CloudEvents); Onramp believes it only when
    the signature is made with the key it holds."""
    app = impersonated
    secret = f"{platform}-webhook-key"
    setting = {"xero": "XERO_WEBHOOK_KEY", "quickbooks": "QUICKBOOKS_WEBHOOK_VERIFIER"}[platform]
    app.config[setting] = secret
    client = _at_software_chosen(app, platform)
    _connect(client, live_sandbox, platform)
    assert _latest(app).last_provider_event_at is None

    with live_sandbox.app.app_context():
        forged, forged_headers = signed_event(platform, CHOSEN.id, "not-the-key")
        body, headers = signed_event(platform, CHOSEN.id, secret)
    webhooks = app.test_client()
    url = f"/webhooks/platforms/{platform}"
    assert webhooks.post(url, data=forged, headers=forged_headers).status_code == 401
    assert _latest(app).last_provider_event_at is None

    answered = webhooks.post(url, data=body, headers=headers)
    assert (answered.status_code, answered.json) == (200, {"received": True, "connections": 1})
    assert _latest(app).last_provider_event_at is not None
    if platform == "xero":
        with live_sandbox.app.app_context():
            intent, intent_headers = xero_intent_to_receive(secret)
        assert webhooks.post(url, data=intent, headers=intent_headers).json == {
            "received": True,
            "connections": 0,
        }

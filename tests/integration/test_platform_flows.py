"""Every catalogue platform's whole lifecycle against the Sandbox impersonating it:
connect (the organisation found the platform's way), refresh, deauthorization,
reconnect and disconnect — all over real HTTP on this machine."""

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
from app.sandbox.data import ORGANISATIONS
from tests.impersonation import impersonation
from tests.integration.conftest import LiveSandbox

REAL_PLATFORMS = sorted(key for key in PLATFORMS if key != "sandbox")
CHOSEN = ORGANISATIONS[1]


@pytest.fixture
def impersonated(app: Flask, live_sandbox: LiveSandbox, tmp_path: Path) -> Iterator[Flask]:
    """Every real platform configured, pointing at the Sandbox; a journey offering them all."""
    app.config["SANDBOX_URL"] = live_sandbox.url
    app.config["PLATFORM_OVERRIDES"] = {
        key: impersonation(PLATFORMS[key]) for key in REAL_PLATFORMS
    }
    for key in REAL_PLATFORMS:
        app.config[f"{key.upper()}_CLIENT_ID"] = app.config["SANDBOX_CLIENT_ID"]
        app.config[f"{key.upper()}_CLIENT_SECRET"] = app.config["SANDBOX_CLIENT_SECRET"]
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


def _connect(client: FlaskClient, live_sandbox: LiveSandbox, platform: str) -> None:
    """Sign in at the 'platform' and come back, choosing the organisation if asked."""
    start = client.post("/journey/connect")
    callback = live_sandbox.authorize(str(start.location), "approve", organisation=1)
    query = parse_qs(urlsplit(callback).query)
    spec = PLATFORMS[platform].organisation
    if spec.strategy == "redirect_param":
        assert query[spec.id] == [CHOSEN.id]  # named on the redirect, as the platform does
    back = client.get(callback.removeprefix("http://localhost"))
    if spec.strategy == "list_api":
        assert back.location.endswith("/journey/organisation")
        back = client.post("/journey/organisation", data={"organisation": CHOSEN.id})
    assert back.location.endswith("/journey/done"), back.location


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
    with app.app_context():
        customer = create_customer("Bluebell Bakery Ltd", "owner@bluebell.example")
        link = journey_link(customer.public_id, "all").removeprefix("http://localhost")
    client = app.test_client()
    client.get(link)
    client.post("/journey/welcome")
    client.post("/journey/software", data={"platform": platform})

    # Connect: the organisation is found the platform's way.
    _connect(client, live_sandbox, platform)
    linked = _latest(app)
    assert (linked.platform, linked.status, linked.org_id) == (platform, "linked", CHOSEN.id)
    assert linked.org_name in (CHOSEN.name, CHOSEN.id)

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
    assert (renewed.status, renewed.org_id) == ("linked", CHOSEN.id)

    # Disconnect: revoked at the platform, tokens forgotten.
    with app.app_context():
        connection = db.session.get(Connection, renewed.id)
        assert connection is not None
        assert lifecycle.disconnect(connection) is True
    assert (_latest(app).status, _latest(app).token_ciphertext) == ("disconnected", None)

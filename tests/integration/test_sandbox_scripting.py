"""Scripting the Sandbox from the browser, as a UAT tester does: "Answer slowly" on the
consent screen, and revoking Onramp's access on the Connected apps page so that its
next refresh fails. Onramp talks to the live Sandbox over HTTP throughout."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from app.clock import now
from app.connections import lifecycle
from app.extensions import db
from app.models import Connection
from app.sandbox import create_sandbox_app
from app.sandbox.authorization_server import (
    ACCESS_TOKEN_LIFETIME,
    MAX_SLOW_SECONDS,
    exchange_delay,
    short_token_seconds,
)
from app.sandbox.data import ORGANISATIONS, SANDBOX_LOGIN_EMAIL, SANDBOX_LOGIN_PASSWORD
from app.vault import decrypt_json
from tests.conftest import test_settings
from tests.integration.api_helpers import Api, create_key, problem
from tests.integration.conftest import LiveSandbox

NORTHWIND = ORGANISATIONS[2]
SIGN_IN = {"email": SANDBOX_LOGIN_EMAIL, "password": SANDBOX_LOGIN_PASSWORD, "sign_in": "Sign in"}


def signed_in(url: str) -> tuple[requests.Session, str]:
    """A browser signed in to the sandbox at ``url``, and the page it was then shown."""
    browser = requests.Session()
    browser.get(url, timeout=10)
    page = browser.post(url, data=SIGN_IN, timeout=10)
    assert page.status_code == 200, page.text
    return browser, page.text


def approve(authorize_url: str, organisation: int, **choices: str) -> tuple[str, str]:
    """Approve as the tester would; return the consent page shown and the callback URL."""
    browser, consent_page = signed_in(authorize_url)
    answered = browser.post(
        authorize_url,
        data={"organisation": ORGANISATIONS[organisation].id, "approve": "Approve", **choices},
        allow_redirects=False,
        timeout=10,
    )
    assert answered.status_code in (302, 303), answered.text
    return consent_page, str(answered.headers["Location"])


def link(app: Flask, connecting: FlaskClient, organisation: int, **choices: str) -> float:
    """Connect through the Sandbox; return how long Onramp's callback (the exchange) took."""
    start = connecting.post("/journey/connect")
    _, callback = approve(str(start.location), organisation, **choices)
    began = time.monotonic()
    connecting.get(callback.removeprefix("http://localhost"))
    took = time.monotonic() - began
    with app.app_context():
        found = db.session.scalars(select(Connection)).one()
        assert found.status == "linked", (found.last_error, found.last_error_detail)
    return took


@pytest.fixture
def slow_sandbox(live_sandbox: LiveSandbox, monkeypatch: pytest.MonkeyPatch) -> LiveSandbox:
    monkeypatch.setitem(live_sandbox.app.config, "SANDBOX_SLOW_SECONDS", 0.2)
    return live_sandbox


def test_the_consent_screen_offers_to_answer_slowly(
    connecting: FlaskClient, slow_sandbox: LiveSandbox
) -> None:
    start = connecting.post("/journey/connect")
    _, page = signed_in(str(start.location))
    assert '<input aria-describedby="slow-hint" id="slow" name="slow" type="checkbox"' in page
    assert '<label for="slow" class="">Answer slowly</label>' in page
    assert "the sandbox waits 0.2 seconds before giving Onramp its keys" in page
    assert '<label for="short_lived" class="">Short-lived access</label>' in page
    assert "access expires after 120 seconds, so it must refresh it" in page


def test_answer_slowly_delays_the_code_exchange(
    app: Flask, connecting: FlaskClient, slow_sandbox: LiveSandbox
) -> None:
    took = link(app, connecting, 1, slow="y")
    assert took >= 0.2  # a lower bound only: machines are slow in their own ways


@pytest.mark.parametrize(
    ("quirks", "seconds"),
    [
        (None, 0.0),
        ({}, 0.0),
        ({"sandbox_slow_seconds": "0.5"}, 0.5),
        ({"sandbox_slow_seconds": "-3"}, 0.0),
        ({"sandbox_slow_seconds": "nan"}, 0.0),
        ({"sandbox_slow_seconds": "soon"}, 0.0),
        ({"sandbox_slow_seconds": "86400"}, MAX_SLOW_SECONDS),
    ],
)
def test_a_slow_answer_is_never_negative_nor_endless(
    quirks: dict[str, str] | None, seconds: float
) -> None:
    assert exchange_delay(quirks) == seconds


def test_short_lived_access_is_refreshed_until_access_is_revoked(
    app: Flask, connecting: FlaskClient, live_sandbox: LiveSandbox
) -> None:
    """The data pipeline's view: every credentials call refreshes a short-lived token,
    until the tester revokes access at the platform; then the connection has ended."""
    live_sandbox.app.config["SANDBOX_SHORT_TOKEN_SECONDS"] = 90
    link(app, connecting, 2, short_lived="y")
    pipeline = Api(app.test_client(), create_key(app, "credentials", name="pipeline"))
    with app.app_context():
        connection = db.session.scalars(select(Connection)).one()
        connection_id = connection.public_id
        lasts = connection.token_expires_at - now()  # type: ignore[operator]
    assert timedelta(seconds=85) < lasts <= timedelta(seconds=90)

    issued = [pipeline.get(f"/api/v1/connections/{connection_id}/credentials") for _ in "ab"]
    assert [r.status_code for r in issued] == [200, 200]
    tokens = {r.get_json()["access_token"] for r in issued}
    assert len(tokens) == 2  # refreshed each time: the token never lasts past the lead
    with app.app_context():
        refreshed = db.session.scalars(select(Connection)).one()
        assert refreshed.token_expires_at - now() <= timedelta(seconds=90)  # type: ignore[operator]

    browser, _ = connected_apps(live_sandbox)
    browser.post(f"{live_sandbox.url}/connections", data={"organisation": NORTHWIND.id}, timeout=10)
    refused = pipeline.get(f"/api/v1/connections/{connection_id}/credentials")
    assert problem(refused, 409, "conflict")["detail"].endswith("the customer must connect again.")
    with app.app_context():
        ended = db.session.scalars(select(Connection)).one()
        assert (ended.status, ended.last_error) == ("deauthorized", "refresh_refused")


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120),
        ("5", 61),  # Onramp would take a shorter one as expired already
        ("0", 0),
        ("-5", 0),
        ("1.5", 0),
        ("soon", 0),
        (str(ACCESS_TOKEN_LIFETIME), 0),
    ],
)
def test_short_lived_access_lasts_a_sane_time(
    app: Flask, value: str, seconds: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "SANDBOX_SHORT_TOKEN_SECONDS", value)
    with app.app_context():
        assert short_token_seconds() == seconds


def connected_apps(live_sandbox: LiveSandbox) -> tuple[requests.Session, str]:
    return signed_in(f"{live_sandbox.url}/connections")


def test_connected_apps_asks_the_tester_to_sign_in_first(live_sandbox: LiveSandbox) -> None:
    page = requests.get(f"{live_sandbox.url}/connections", timeout=10)
    assert page.status_code == 200
    assert "<h1>Sign in to Sandbox Accounting</h1>" in page.text
    assert "Sign in to see the apps you have connected and revoke their access." in page.text


def test_revoking_access_makes_the_next_refresh_fail(
    app: Flask, connecting: FlaskClient, live_sandbox: LiveSandbox
) -> None:
    link(app, connecting, 2)
    browser, page = connected_apps(live_sandbox)
    assert "<h1>Connected apps</h1>" in page
    assert f"<h2>{NORTHWIND.name}</h2>" in page
    assert f'Revoke access<span class="visually-hidden"> to {NORTHWIND.name}</span>' in page

    revoked = browser.post(
        f"{live_sandbox.url}/connections", data={"organisation": NORTHWIND.id}, timeout=10
    )
    assert revoked.status_code == 200
    assert f"Onramp can no longer read {NORTHWIND.name}." in revoked.text
    assert f"<h2>{NORTHWIND.name}</h2>" not in revoked.text
    # The notice is shown once.
    assert "can no longer read" not in browser.get(f"{live_sandbox.url}/connections").text

    with app.app_context():
        connection = db.session.scalars(select(Connection)).one()
        token = decrypt_json(connection.token_ciphertext or "")
        # The access token stops working at once, as well as the refresh token.
        api = requests.get(
            f"{live_sandbox.url}/api/organisation",
            headers={"Authorization": f"Bearer {token['access_token']}"},
            timeout=10,
        )
        assert api.status_code == 401
        db.session.execute(
            update(Connection).values(token_expires_at=now() + timedelta(seconds=30))
        )
        db.session.commit()
        assert lifecycle.refresh_due() == {"deauthorized": 1}
        connection = db.session.scalars(select(Connection)).one()
        assert (connection.status, connection.last_error) == ("deauthorized", "refresh_refused")


def test_revoking_an_unknown_organisation_changes_nothing(
    app: Flask, connecting: FlaskClient, live_sandbox: LiveSandbox
) -> None:
    link(app, connecting, 2)
    browser, _ = connected_apps(live_sandbox)
    answer = browser.post(
        f"{live_sandbox.url}/connections",
        data={"organisation": "not-an-organisation"},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 303
    with app.app_context():
        db.session.execute(
            update(Connection).values(token_expires_at=now() + timedelta(seconds=30))
        )
        db.session.commit()
        assert lifecycle.refresh_due() == {"refreshed": 1}


def test_signing_out_of_connected_apps(live_sandbox: LiveSandbox) -> None:
    browser, _ = connected_apps(live_sandbox)
    out = browser.post(
        f"{live_sandbox.url}/connections",
        data={"sign_out": "Sign out of the sandbox"},
        timeout=10,
    )
    assert "<h1>Sign in to Sandbox Accounting</h1>" in out.text


def test_connected_apps_forms_need_a_csrf_token(tmp_path: Path) -> None:
    sandbox = create_sandbox_app(test_settings(tmp_path, WTF_CSRF_ENABLED=True))
    browser = sandbox.test_client()
    with browser.session_transaction() as session:
        session["sandbox_user"] = SANDBOX_LOGIN_EMAIL
    page = browser.get("/sandbox/connections")
    assert 'name="csrf_token"' in page.get_data(as_text=True)
    refused = browser.post("/sandbox/connections", data={"organisation": NORTHWIND.id})
    assert refused.status_code == 400

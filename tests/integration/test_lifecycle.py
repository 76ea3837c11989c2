"""After linking: refresh, deauthorization, disconnect and key rotation, against the
live Sandbox over HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from cryptography.fernet import Fernet
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from app import clock
from app.connections import lifecycle
from app.extensions import db
from app.models import Connection
from app.vault import decrypt_json
from tests.conftest import test_settings
from tests.integration.conftest import LiveSandbox
from tests.pages import text_of

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def linked(app: Flask, linked_sandbox: Connection) -> int:
    """A linked Sandbox connection whose access token is due for refresh."""
    with app.app_context():
        db.session.execute(
            update(Connection).values(token_expires_at=clock.now() + timedelta(seconds=30))
        )
        db.session.commit()
        return linked_sandbox.id


def _connection(app: Flask, connection_id: int) -> Connection:
    with app.app_context():
        connection = db.session.get(Connection, connection_id)
        assert connection is not None
        db.session.expunge(connection)
        return connection


def _token(app: Flask, connection: Connection) -> dict:
    with app.app_context():
        return decrypt_json(connection.token_ciphertext or "")


def _organisation(live_sandbox: LiveSandbox, access_token: str) -> int:
    response = requests.get(
        f"{live_sandbox.url}/api/organisation",
        headers={"Authorization": f"Bearer {access_token}"},
        timeout=10,
    )
    return response.status_code


def test_a_token_near_expiry_is_refreshed_and_rotated(
    app: Flask, linked: int, live_sandbox: LiveSandbox
) -> None:
    before = _token(app, _connection(app, linked))
    with app.app_context():
        assert lifecycle.refresh_due() == {"refreshed": 1}
    after_connection = _connection(app, linked)
    after = _token(app, after_connection)
    assert after["access_token"] != before["access_token"]
    assert after["refresh_token"] != before["refresh_token"]
    assert after_connection.token_version == 1
    assert after_connection.token_expires_at is not None
    assert after_connection.token_expires_at > clock.now() + timedelta(minutes=20)
    assert _organisation(live_sandbox, after["access_token"]) == 200


def test_a_token_not_due_is_left_alone(app: Flask, linked: int) -> None:
    with app.app_context():
        db.session.execute(
            update(Connection).values(token_expires_at=clock.now() + timedelta(hours=1))
        )
        db.session.commit()
        assert lifecycle.refresh_due() == {}
    assert _connection(app, linked).token_version == 0


def test_a_refused_refresh_deauthorizes_the_connection(
    app: Flask, linked: int, live_sandbox: LiveSandbox
) -> None:
    token = _token(app, _connection(app, linked))
    revoked = requests.post(
        f"{live_sandbox.url}/revoke",
        data={"token": token["refresh_token"], "token_type_hint": "refresh_token"},
        auth=("onramp-sandbox-client", "test-sandbox-client-secret"),
        timeout=10,
    )
    assert revoked.status_code == 200
    with app.app_context():
        assert lifecycle.refresh_due() == {"deauthorized": 1}
    connection = _connection(app, linked)
    assert (connection.status, connection.last_error) == ("deauthorized", "refresh_refused")
    assert connection.token_ciphertext is None
    assert connection.ended_at is not None


def test_an_unreachable_provider_is_retried_later(app: Flask, linked: int) -> None:
    app.config["SANDBOX_URL"] = "http://127.0.0.1:9/sandbox"
    with app.app_context():
        assert lifecycle.refresh_due() == {"failed": 1}
    connection = _connection(app, linked)
    assert connection.status == "linked"
    assert connection.refresh_claimed_until is None  # free for the next run
    assert connection.token_ciphertext is not None


def test_disconnecting_revokes_at_the_provider_and_forgets_the_tokens(
    app: Flask, linked: int, live_sandbox: LiveSandbox
) -> None:
    token = _token(app, _connection(app, linked))
    result = app.test_cli_runner().invoke(
        args=["connections", "disconnect", _connection(app, linked).public_id]
    )
    assert result.output.strip() == "Disconnected."
    connection = _connection(app, linked)
    assert connection.status == "disconnected"
    assert connection.token_ciphertext is None
    assert _organisation(live_sandbox, token["access_token"]) == 401


def test_the_encryption_key_can_be_rotated(app: Flask, linked: int) -> None:
    old_key = app.config["TOKEN_ENCRYPTION_KEY"]
    token = _token(app, _connection(app, linked))
    new_key = Fernet.generate_key().decode()
    app.config["TOKEN_ENCRYPTION_KEY"] = f"{new_key},{old_key}"
    result = app.test_cli_runner().invoke(args=["tokens", "rotate-key"])
    # The connection's tokens, the PKCE verifier of the flow that linked it, and the
    # customer's data key (their consent records' personal details).
    assert "Re-encrypted 3 secret(s)" in result.output
    app.config["TOKEN_ENCRYPTION_KEY"] = new_key  # the old key can now be dropped
    assert _token(app, _connection(app, linked)) == token


def test_two_processes_refreshing_at_once_rotate_each_token_once(
    app: Flask, linked: int, live_sandbox: LiveSandbox, tmp_path: Path
) -> None:
    settings = test_settings(tmp_path)
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "ONRAMP_SECRET_KEY": settings["SECRET_KEY"],
        "ONRAMP_TOKEN_ENCRYPTION_KEY": settings["TOKEN_ENCRYPTION_KEY"],
        "ONRAMP_SANDBOX_CLIENT_SECRET": settings["SANDBOX_CLIENT_SECRET"],
        "ONRAMP_SANDBOX_URL": live_sandbox.url,
        "ONRAMP_PUBLIC_URL": "http://localhost",
    }
    command = [sys.executable, "-m", "flask", "--app", "app:create_app", "connections", "refresh"]
    runs = [
        subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=60)[0] for run in runs]
    assert all(run.returncode == 0 for run in runs), outputs
    assert sum("1 refreshed" in output for output in outputs) == 1, outputs
    assert not any("deauthorized" in o and "0 deauthorized" not in o for o in outputs), outputs
    connection = _connection(app, linked)
    assert (connection.status, connection.token_version) == ("linked", 1)


def test_a_connection_claimed_by_another_process_is_skipped(app: Flask, linked: int) -> None:
    with app.app_context():
        db.session.execute(
            update(Connection).values(refresh_claimed_until=clock.now() + timedelta(seconds=30))
        )
        db.session.commit()
        assert lifecycle.refresh_due() == {"skipped": 1}
    assert _connection(app, linked).token_version == 0


def _reconnect_client(app: Flask, connection_id: int) -> FlaskClient:
    with app.app_context():
        db.session.execute(update(Connection).values(status="deauthorized", token_ciphertext=None))
        db.session.commit()
    public_id = _connection(app, connection_id).public_id
    link = app.test_cli_runner().invoke(args=["connections", "reconnect-link", public_id])
    client = app.test_client()
    client.get(link.output.strip().removeprefix("http://localhost"))
    return client


def test_reconnecting_refuses_a_different_organisation(
    app: Flask, linked: int, live_sandbox: LiveSandbox
) -> None:
    original = _connection(app, linked)
    client = _reconnect_client(app, linked)
    # The platform is known already: from the welcome straight to signing in again.
    assert client.post("/journey/welcome").location.endswith("/journey/connect")
    page = text_of(client.get("/journey/connect"))
    assert f"Reconnecting {original.org_name}" in page

    other = live_sandbox.authorize(str(client.post("/journey/connect").location), organisation=2)
    page = text_of(client.get(other.removeprefix("http://localhost"), follow_redirects=True))
    assert "That's a different organisation" in page
    assert f"this link reconnects {original.org_name}" in page
    with app.app_context():
        rows = db.session.scalars(select(Connection).order_by(Connection.id)).all()
        assert [(c.status, c.last_error) for c in rows] == [
            ("deauthorized", None),
            ("failed", "different_organisation"),
        ]
        assert rows[1].token_ciphertext is None

    same = live_sandbox.authorize(str(client.post("/journey/connect").location), organisation=1)
    done = client.get(same.removeprefix("http://localhost"), follow_redirects=True)
    assert "You're reconnected" in text_of(done)
    # The same connection is linked again: its id is kept, the attempt leaves no row.
    repaired = _connection(app, linked)
    assert (repaired.status, repaired.org_id) == ("linked", original.org_id)
    with app.app_context():
        statuses = db.session.scalars(select(Connection.status).order_by(Connection.id)).all()
        assert statuses == ["linked", "failed"]

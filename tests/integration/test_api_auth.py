"""API keys: made, listed and revoked with the CLI, stored hashed, checked on every call."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.models import ApiKey
from tests.integration.api_helpers import Api, create_key, problem

JOURNEYS = "/api/v1/journeys"


def _keys(app: Flask) -> list[ApiKey]:
    with app.app_context():
        return list(db.session.scalars(select(ApiKey).order_by(ApiKey.id)))


def test_a_key_is_shown_once_and_stored_only_as_a_hash(app: Flask) -> None:
    key = create_key(app, "read", "write")
    assert key.startswith("onr_")
    prefix, secret = key[:16], key[17:]
    assert len(secret) >= 43  # 256 random bits
    [stored] = _keys(app)
    assert stored.prefix == prefix
    assert (stored.name, stored.scope_set) == ("backend", {"read", "write"})
    assert secret not in stored.secret_sha256 and key != stored.secret_sha256
    listed = app.test_cli_runner().invoke(args=["api-keys", "list"])
    assert prefix in listed.output and "active" in listed.output and "never" in listed.output
    assert secret not in listed.output


def test_a_key_authenticates_and_its_use_is_noted(app: Flask, client: FlaskClient) -> None:
    key = create_key(app, "read")
    assert Api(client, key).get(JOURNEYS).status_code == 200
    [stored] = _keys(app)
    assert stored.last_used_at is not None
    listed = app.test_cli_runner().invoke(args=["api-keys", "list"])
    assert "never" not in listed.output


def test_a_revoked_key_stops_working_at_once(app: Flask, client: FlaskClient) -> None:
    key = create_key(app, "read")
    api = Api(client, key)
    assert api.get(JOURNEYS).status_code == 200
    revoked = app.test_cli_runner().invoke(args=["api-keys", "revoke", key[:16]])
    assert revoked.exit_code == 0 and "Revoked" in revoked.output
    refused = api.get(JOURNEYS)
    problem(refused, 401, "authentication-required")
    assert "invalid_token" in refused.headers["WWW-Authenticate"]
    assert "revoked" in app.test_cli_runner().invoke(args=["api-keys", "list"]).output
    unknown = app.test_cli_runner().invoke(args=["api-keys", "revoke", "onr_000000000000"])
    assert unknown.exit_code != 0 and "no API key" in unknown.output


def test_a_key_needs_a_known_scope(app: Flask) -> None:
    result = app.test_cli_runner().invoke(
        args=["api-keys", "create", "--name", "x", "--scope", "admin"]
    )
    assert result.exit_code != 0 and "admin" in result.output
    assert _keys(app) == []


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "",
        "Bearer",
        "Basic b25yXzoxMjM=",
        "Bearer onr_000000000000_not-a-real-key",
        "Bearer not-even-shaped-like-a-key",
    ],
)
def test_no_valid_key_is_a_401_with_a_challenge(
    app: Flask, client: FlaskClient, authorization: str | None
) -> None:
    create_key(app, "read")
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = client.get(JOURNEYS, headers=headers)
    problem(response, 401, "authentication-required")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_tampered_secret_is_refused(app: Flask, client: FlaskClient) -> None:
    key = create_key(app, "read")
    tampered = key[:-1] + ("A" if key[-1] != "A" else "B")
    problem(Api(client, tampered).get(JOURNEYS), 401, "authentication-required")


@pytest.mark.parametrize(
    ("scopes", "method", "path", "needed"),
    [
        (("read",), "PUT", "/api/v1/customers/c1", "write"),
        (("write",), "GET", "/api/v1/customers/c1", "read"),
        (("read", "write"), "GET", "/api/v1/connections/{uuid}/credentials", "credentials"),
        (("credentials",), "GET", "/api/v1/connections", "read"),
    ],
)
def test_each_scope_opens_only_its_own_operations(
    app: Flask, client: FlaskClient, scopes: tuple[str, ...], method: str, path: str, needed: str
) -> None:
    api = Api(client, create_key(app, *scopes))
    path = path.replace("{uuid}", "00000000-0000-4000-8000-000000000000")
    response = api.call(method, path, json={"name": "A", "email": "a@b.example"})
    body = problem(response, 403, "insufficient-scope")
    assert needed in body["detail"]
    assert f'scope="{needed}"' in response.headers["WWW-Authenticate"]


def test_a_journey_session_cookie_is_no_api_key(app: Flask, customer_client: FlaskClient) -> None:
    create_key(app, "read")
    assert customer_client.get_cookie("onramp_session") is not None
    problem(customer_client.get(JOURNEYS), 401, "authentication-required")


def test_the_openapi_document_needs_no_key(client: FlaskClient) -> None:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.get_json()["info"]["title"] == "Onramp API"

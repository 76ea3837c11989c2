"""The sandbox accounting platform, driven the way Onramp (or any integrator) drives it.

Only the standalone sandbox app is used, so these tests stand apart from the rest
of Onramp just as the sandbox does.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, inspect, select, text
from werkzeug.test import TestResponse

from app.extensions import db
from app.sandbox import create_sandbox_app, storage
from app.sandbox.data import DEMO, SANDBOX_LOGIN_EMAIL, SANDBOX_LOGIN_PASSWORD
from app.sandbox.tables import SandboxToken
from tests import database

# Aliased so pytest does not collect it as a test.
from tests.conftest import test_settings as sandbox_settings

CLIENT_ID = "onramp-sandbox-client"
CLIENT_SECRET = "test-sandbox-client-secret"
REDIRECT_URI = "http://localhost/connect/sandbox/callback"
ISSUER = "http://localhost/sandbox"
BLUEBELL = DEMO.organisations[1]


@pytest.fixture
def build_sandbox(tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """Build sandbox apps with extra settings; their database connections close afterwards."""
    built: list[Flask] = []

    def build(**overrides: Any) -> Flask:
        app = create_sandbox_app(sandbox_settings(tmp_path, **overrides))
        built.append(app)
        return app

    yield build
    for app in built:
        app.extensions[storage.EXTENSION].engine.dispose()


@pytest.fixture
def sandbox(build_sandbox: Callable[..., Flask]) -> Flask:
    return build_sandbox()


@pytest.fixture
def customer(sandbox: Flask) -> FlaskClient:
    """The customer's web browser, which keeps the sandbox's session cookie."""
    return sandbox.test_client()


@pytest.fixture
def backend(sandbox: Flask) -> FlaskClient:
    """Onramp's server side: no cookies shared with the customer's browser."""
    return sandbox.test_client(use_cookies=False)


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorize_url(challenge: str, **overrides: str | None) -> str:
    params: dict[str, str | None] = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT_URI,
        "scope": "accounting.read offline_access",
        "state": "state-123",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **overrides,
    }
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"/sandbox/authorize?{query}"


def sign_in(
    customer: FlaskClient,
    url: str,
    email: str = SANDBOX_LOGIN_EMAIL,
    password: str = SANDBOX_LOGIN_PASSWORD,
) -> TestResponse:
    return customer.post(url, data={"email": email, "password": password, "sign_in": "Sign in"})


def callback_params(response: TestResponse) -> dict[str, str]:
    """The query the customer is sent back to Onramp with."""
    assert response.status_code == 302
    location = urlsplit(response.location)
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    return {key: values[0] for key, values in parse_qs(location.query).items()}


def approve(customer: FlaskClient, url: str, organisation_id: str = BLUEBELL.id) -> dict[str, str]:
    sign_in(customer, url)
    return callback_params(
        customer.post(url, data={"organisation": organisation_id, "approve": "Approve"})
    )


def exchange(backend: FlaskClient, code: str, verifier: str) -> TestResponse:
    return backend.post(
        "/sandbox/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        auth=(CLIENT_ID, CLIENT_SECRET),
    )


def json_of(response: TestResponse) -> dict[str, Any]:
    data = response.get_json()
    assert isinstance(data, dict), response.get_data(as_text=True)
    return data


def refresh(backend: FlaskClient, refresh_token: str) -> TestResponse:
    return backend.post(
        "/sandbox/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        auth=(CLIENT_ID, CLIENT_SECRET),
    )


def read_organisation(backend: FlaskClient, access_token: str) -> TestResponse:
    return backend.get(
        "/sandbox/api/organisation", headers={"Authorization": f"Bearer {access_token}"}
    )


def connect(customer: FlaskClient, backend: FlaskClient) -> dict[str, Any]:
    """The whole happy path: sign in, approve Bluebell, exchange the code."""
    verifier, challenge = pkce_pair()
    code = approve(customer, authorize_url(challenge))["code"]
    response = exchange(backend, code, verifier)
    assert response.status_code == 200, response.get_data(as_text=True)
    return json_of(response)


def test_authorize_asks_the_customer_to_sign_in_first(customer: FlaskClient) -> None:
    _, challenge = pkce_pair()

    page = customer.get(authorize_url(challenge)).get_data(as_text=True)

    assert "Sign in to Sandbox Accounting" in page
    assert "Test platform — no real data" in page
    assert "Choose an organisation" not in page


def test_the_standalone_sandbox_keeps_its_session_apart_from_onramps(
    customer: FlaskClient,
) -> None:
    url = authorize_url(pkce_pair()[1])

    sign_in(customer, url)

    assert customer.get_cookie("sandbox_session") is not None
    assert customer.get_cookie("onramp_session") is None


def test_a_wrong_password_shows_an_error_and_does_not_sign_in(customer: FlaskClient) -> None:
    _, challenge = pkce_pair()
    url = authorize_url(challenge)

    response = sign_in(customer, url, password="not-the-password")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'role="alert"' in page
    assert "The email address or password is not right" in page
    assert "Choose an organisation" not in customer.get(url).get_data(as_text=True)


def test_after_sign_in_the_consent_screen_says_who_asks_for_what(
    build_sandbox: Callable[..., Flask],
) -> None:
    onramp_callback = "http://127.0.0.1:5000/connect/sandbox/callback"
    app = build_sandbox(SANDBOX_REDIRECT_URIS=[onramp_callback])
    customer = app.test_client()
    url = authorize_url(pkce_pair()[1], redirect_uri=onramp_callback)

    assert sign_in(customer, url).status_code == 302
    response = customer.get(url)

    page = response.get_data(as_text=True)
    assert "Onramp wants to read accounting data from the organisation you choose" in page
    assert "<legend>Choose an organisation</legend>" in page
    for organisation in DEMO.organisations:
        assert organisation.name in page
    for button in ("Approve", "Deny", "Simulate an error"):
        assert f'type="submit" value="{button}"' in page
    # The approve post redirects to Onramp, which Chromium checks against form-action.
    assert "form-action 'self' http://127.0.0.1:5000" in response.headers["Content-Security-Policy"]


def test_approve_sends_code_state_and_issuer_and_the_tokens_read_that_organisation(
    customer: FlaskClient, backend: FlaskClient
) -> None:
    verifier, challenge = pkce_pair()

    params = approve(customer, authorize_url(challenge), BLUEBELL.id)
    assert params["state"] == "state-123"
    assert params["iss"] == ISSUER
    response = exchange(backend, params["code"], verifier)

    assert response.status_code == 200
    tokens = json_of(response)
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 1800
    assert tokens["scope"] == "accounting.read offline_access"
    assert tokens["refresh_token"]
    organisation = read_organisation(backend, tokens["access_token"])
    assert organisation.status_code == 200
    assert json_of(organisation) == {
        "id": BLUEBELL.id,
        "name": "Bluebell Bakery Ltd",
        # Who approved, and their role there.
        "user": {"email": "demo@sandbox.test", "name": "Demo User", "role": "standard"},
    }


def test_the_client_may_authenticate_with_a_posted_secret(
    customer: FlaskClient, backend: FlaskClient
) -> None:
    verifier, challenge = pkce_pair()
    code = approve(customer, authorize_url(challenge))["code"]

    response = backend.post(
        "/sandbox/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
    )

    assert response.status_code == 200
    assert json_of(response)["access_token"]


def test_approving_without_an_organisation_asks_for_one(customer: FlaskClient) -> None:
    url = authorize_url(pkce_pair()[1])
    sign_in(customer, url)

    response = customer.post(url, data={"approve": "Approve"})

    assert response.status_code == 200
    assert "Choose the organisation to connect" in response.get_data(as_text=True)


def test_deny_sends_access_denied_back_with_state_and_issuer(customer: FlaskClient) -> None:
    url = authorize_url(pkce_pair()[1])
    sign_in(customer, url)

    params = callback_params(customer.post(url, data={"deny": "Deny"}))

    assert params["error"] == "access_denied"
    assert params["state"] == "state-123"
    assert params["iss"] == ISSUER
    assert "code" not in params


def test_simulate_an_error_sends_server_error_back(customer: FlaskClient) -> None:
    url = authorize_url(pkce_pair()[1])
    sign_in(customer, url)

    params = callback_params(customer.post(url, data={"simulate_error": "Simulate an error"}))

    assert params["error"] == "server_error"
    assert params["error_description"]
    assert params["state"] == "state-123"
    assert params["iss"] == ISSUER
    assert "code" not in params


@pytest.mark.parametrize(
    "overrides",
    [
        {"redirect_uri": "http://localhost/connect/sandbox/callback/other"},
        {"redirect_uri": "https://attacker.example/callback"},
        {"redirect_uri": None},
        {"client_id": "someone-else"},
        {"client_id": None},
        {"redirect_uri": 'http://localhost/"quoted"'},
        {"response_type": 'code"token'},
    ],
    ids=[
        "redirect-uri-not-exact",
        "redirect-uri-elsewhere",
        "no-redirect-uri",
        "unknown-client",
        "no-client",
        "redirect-uri-with-quotes",
        "response-type-with-quote",
    ],
)
def test_an_untrustworthy_request_shows_an_error_page_and_never_redirects(
    customer: FlaskClient, overrides: dict[str, str | None]
) -> None:
    url = authorize_url(pkce_pair()[1], **overrides)

    for response in (customer.get(url), sign_in(customer, url)):
        assert response.status_code == 400
        assert "Location" not in response.headers
        assert "This connection request cannot be used" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "overrides",
    [
        {"code_challenge": None, "code_challenge_method": None},
        {"code_challenge_method": None},
        {"code_challenge_method": "plain"},
        {"code_challenge": "too-short"},
        {"response_type": "token"},
        {"scope": "accounting.write"},
    ],
    ids=["no-pkce", "no-method", "plain", "bad-challenge", "implicit", "unknown-scope"],
)
def test_a_bad_request_from_the_real_client_is_sent_back_to_it_as_an_error(
    customer: FlaskClient, overrides: dict[str, str | None]
) -> None:
    # The client and redirect_uri are trusted, so RFC 6749 §4.1.2.1 says redirect.
    url = authorize_url(pkce_pair()[1], **overrides)

    params = callback_params(customer.get(url))

    assert params["error"] in {"invalid_request", "unsupported_response_type", "invalid_scope"}
    assert params["state"] == "state-123"
    assert params["iss"] == ISSUER
    assert "code" not in params


def test_a_wrong_code_verifier_is_an_invalid_grant(
    customer: FlaskClient, backend: FlaskClient
) -> None:
    _, challenge = pkce_pair()
    code = approve(customer, authorize_url(challenge))["code"]
    other_verifier, _ = pkce_pair()

    response = exchange(backend, code, other_verifier)

    assert response.status_code == 400
    assert json_of(response)["error"] == "invalid_grant"


def test_a_code_works_only_once(customer: FlaskClient, backend: FlaskClient) -> None:
    verifier, challenge = pkce_pair()
    code = approve(customer, authorize_url(challenge))["code"]
    assert exchange(backend, code, verifier).status_code == 200

    replay = exchange(backend, code, verifier)

    assert replay.status_code == 400
    assert json_of(replay)["error"] == "invalid_grant"


def test_a_wrong_client_secret_is_refused(customer: FlaskClient, backend: FlaskClient) -> None:
    verifier, challenge = pkce_pair()
    code = approve(customer, authorize_url(challenge))["code"]

    response = backend.post(
        "/sandbox/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        auth=(CLIENT_ID, "not-the-secret"),
    )

    assert response.status_code == 401
    assert json_of(response)["error"] == "invalid_client"


@pytest.mark.parametrize(
    "data",
    [{}, {"grant_type": "password"}, {"grant_type": "authorization_code"}],
    ids=["no-grant-type", "unsupported-grant", "no-code"],
)
def test_a_malformed_token_request_gets_an_oauth_error(
    backend: FlaskClient, data: dict[str, str]
) -> None:
    response = backend.post("/sandbox/token", data=data, auth=(CLIENT_ID, CLIENT_SECRET))

    assert response.status_code == 400
    assert json_of(response)["error"] in {"unsupported_grant_type", "invalid_request"}


def test_refreshing_rotates_the_refresh_token(customer: FlaskClient, backend: FlaskClient) -> None:
    first = connect(customer, backend)

    response = refresh(backend, first["refresh_token"])

    assert response.status_code == 200
    second = json_of(response)
    assert second["refresh_token"] != first["refresh_token"]
    assert second["expires_in"] == 1800
    assert json_of(read_organisation(backend, second["access_token"]))["name"] == BLUEBELL.name
    reused = refresh(backend, first["refresh_token"])
    assert reused.status_code == 400
    assert json_of(reused)["error"] == "invalid_grant"
    assert refresh(backend, second["refresh_token"]).status_code == 200


def test_revoking_the_refresh_token_ends_the_connection(
    customer: FlaskClient, backend: FlaskClient
) -> None:
    tokens = connect(customer, backend)

    response = backend.post(
        "/sandbox/revoke",
        data={"token": tokens["refresh_token"], "token_type_hint": "refresh_token"},
        auth=(CLIENT_ID, CLIENT_SECRET),
    )

    assert response.status_code == 200
    assert refresh(backend, tokens["refresh_token"]).status_code == 400
    assert read_organisation(backend, tokens["access_token"]).status_code == 401


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-a-real-token"}, {"Authorization": "Basic abc"}],
    ids=["no-token", "unknown-token", "not-bearer"],
)
def test_the_api_refuses_a_missing_or_invalid_token(
    backend: FlaskClient, headers: dict[str, str]
) -> None:
    response = backend.get("/sandbox/api/organisation", headers=headers)

    assert response.status_code == 401
    assert json_of(response)["error"]


def test_the_api_refuses_an_expired_token(
    sandbox: Flask, customer: FlaskClient, backend: FlaskClient
) -> None:
    tokens = connect(customer, backend)
    with sandbox.app_context():
        token = storage.session().scalar(
            select(SandboxToken).filter_by(access_token=tokens["access_token"])
        )
        assert token is not None
        token.issued_at -= timedelta(seconds=1801)
        storage.session().commit()

    response = read_organisation(backend, tokens["access_token"])

    assert response.status_code == 401
    assert json_of(response)["error"] == "invalid_token"


def test_signing_out_of_the_sandbox_asks_to_sign_in_again(customer: FlaskClient) -> None:
    url = authorize_url(pkce_pair()[1])
    sign_in(customer, url)

    response = customer.post(url, data={"sign_out": "Sign out of the sandbox"})

    assert response.status_code == 302
    assert "Sign in to Sandbox Accounting" in customer.get(url).get_data(as_text=True)


def test_metadata_names_the_configured_issuer_whatever_the_host(
    build_sandbox: Callable[..., Flask],
) -> None:
    app = build_sandbox(SANDBOX_URL="https://sandbox.example/sandbox")

    response = app.test_client().get(
        "/sandbox/.well-known/oauth-authorization-server", headers={"Host": "evil.example"}
    )

    metadata = json_of(response)
    assert metadata["issuer"] == "https://sandbox.example/sandbox"
    assert metadata["authorization_endpoint"] == "https://sandbox.example/sandbox/authorize"
    assert metadata["token_endpoint"] == "https://sandbox.example/sandbox/token"
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["authorization_response_iss_parameter_supported"] is True


def test_mounted_in_onramp_the_sandbox_keeps_its_tables_in_its_own_storage(app: Flask) -> None:
    # A third-party platform: its tokens live in its own database, never in Onramp's.
    tokens = connect(app.test_client(), app.test_client(use_cookies=False))
    assert read_organisation(app.test_client(), tokens["access_token"]).status_code == 200

    with app.app_context():
        onramp_tables = set(inspect(db.engine).get_table_names())
        onramp_metadata = set(db.metadata.tables)
    own = create_engine(app.config["SANDBOX_DATABASE_URL"])
    try:
        sandbox_tables = set(inspect(own).get_table_names())
        with own.connect() as connection:
            issued = connection.execute(text("SELECT count(*) FROM sandbox_tokens")).scalar()
    finally:
        own.dispose()
    assert {name for name in onramp_tables | onramp_metadata if "sandbox" in name} == set()
    assert {"sandbox_authorization_codes", "sandbox_tokens"} <= sandbox_tables
    assert issued == 1


def _database_elsewhere(tmp_path: Path) -> str:
    """A database for the sandbox alone: a schema of its own on PostgreSQL, where the
    tests run there (as a role that may create tables), else another SQLite file."""
    if database.admin_url() is None:
        return f"sqlite:///{tmp_path / 'elsewhere.db'}"
    schema = f"sandbox_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    database.prepare_schema(schema)
    return database.role_url(database.OWNER_ROLE, schema)


def test_the_sandbox_creates_its_tables_wherever_sandbox_database_url_points(
    build_sandbox: Callable[..., Flask], tmp_path: Path
) -> None:
    url = _database_elsewhere(tmp_path)
    sandbox = build_sandbox(SANDBOX_DATABASE_URL=url)
    customer, backend = sandbox.test_client(), sandbox.test_client(use_cookies=False)

    tokens = connect(customer, backend)
    refreshed = refresh(backend, tokens["refresh_token"])

    assert refreshed.status_code == 200
    assert read_organisation(backend, json_of(refreshed)["access_token"]).status_code == 200
    with sandbox.app_context():
        issued = storage.session().scalars(select(SandboxToken).order_by(SandboxToken.id)).all()
    assert [token.refresh_token_revoked_at is not None for token in issued] == [True, False]
    assert issued[0].issued_at.tzinfo is not None


def test_mounted_in_onramp_the_sandbox_tells_its_host_the_published_test_login(
    app: Flask,
) -> None:
    # What `flask demo` prints, without Onramp importing the sandbox's data.
    email, password = app.extensions["sandbox_demo_login"]

    assert (email, password) == (SANDBOX_LOGIN_EMAIL, SANDBOX_LOGIN_PASSWORD)

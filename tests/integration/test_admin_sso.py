"""Admin single sign-on against a local OpenID Connect provider (oidc-provider-mock)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import oidc_provider_mock
import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEntry, User
from tests.admin import make_user
from tests.conftest import reset_database, test_settings


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    with oidc_provider_mock.run_server_in_thread() as server:
        yield f"http://localhost:{server.server_port}"


def _sso_app(tmp_path: Path, issuer: str, **overrides: object) -> Iterator[Flask]:
    from app import create_app

    settings = {
        "OIDC_ISSUER": issuer,
        "OIDC_CLIENT_ID": "onramp-admin",
        "OIDC_CLIENT_SECRET": "onramp-admin-secret",
        "OIDC_NAME": "Example SSO",
        **overrides,
    }
    app = create_app(test_settings(tmp_path, **settings))
    reset_database(app)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def sso_app(tmp_path: Path, provider: str) -> Iterator[Flask]:
    yield from _sso_app(tmp_path, provider)


def _identity(provider: str, email: str, **claims: object) -> None:
    response = requests.put(
        f"{provider}/users/{quote(email)}", json={"email": email, **claims}, timeout=10
    )
    assert response.status_code == 204


def _sign_on(client: FlaskClient, provider: str, email: str, next_path: str = "") -> str:
    """Press "Sign in with Example SSO", approve as ``email`` at the provider; the callback."""
    started = client.post("/admin/login/sso" + (f"?next={next_path}" if next_path else ""))
    assert started.status_code == 302
    authorize = started.location
    assert authorize.startswith(provider)
    query = parse_qs(urlsplit(authorize).query)
    assert query["redirect_uri"] == ["http://localhost/admin/login/sso/callback"]
    assert query["code_challenge_method"] == ["S256"]
    assert "nonce" in query
    approved = requests.post(authorize, data={"sub": email}, allow_redirects=False, timeout=10)
    assert approved.status_code == 302
    parts = urlsplit(approved.headers["Location"])
    return f"{parts.path}?{parts.query}"


def test_the_sign_in_page_offers_single_sign_on(sso_app: Flask, provider: str) -> None:
    page = sso_app.test_client().get("/admin/login")
    assert "Sign in with Example SSO" in page.text
    assert f"form-action 'self' {provider}" in page.headers["Content-Security-Policy"]


def test_a_colleague_with_an_account_signs_on(sso_app: Flask, provider: str) -> None:
    make_user(sso_app, "support", "sam@example.com")
    _identity(provider, "sam@example.com", email_verified=True)
    client = sso_app.test_client()
    callback = _sign_on(client, provider, "sam@example.com", "/admin/")
    signed_in = client.get(callback)
    assert signed_in.status_code == 303
    assert signed_in.location == "/admin/"
    assert "sam@example.com (support)" in client.get("/admin/").text
    with sso_app.app_context():
        entry = db.session.scalars(select(AuditEntry)).one()
        assert (entry.action, entry.after) == ("user.login", {"via": "single sign-on"})


def test_single_sign_on_is_not_held_up_by_failed_passwords_and_ends_at_sign_out(
    sso_app: Flask, provider: str
) -> None:
    make_user(sso_app, "support", "sam@example.com")
    _identity(provider, "sam@example.com", email_verified=True)
    client = sso_app.test_client()
    for _ in range(4):
        client.post("/admin/login", data={"email": "sam@example.com", "password": "wrong" * 3})
    assert (
        client.post("/admin/login", data={"email": "sam@example.com", "password": "x" * 12})
    ).status_code == 429

    assert client.get(_sign_on(client, provider, "sam@example.com")).status_code == 303
    cookie = client.get_cookie("onramp_session")
    assert cookie is not None
    copy = sso_app.test_client()
    copy.set_cookie("onramp_session", cookie.value)
    assert copy.get("/admin/").status_code == 200
    client.post("/admin/logout")
    assert copy.get("/admin/").status_code == 302


def test_a_replayed_callback_signs_nobody_in(sso_app: Flask, provider: str) -> None:
    make_user(sso_app, "support", "sam@example.com")
    _identity(provider, "sam@example.com")
    client = sso_app.test_client()
    callback = _sign_on(client, provider, "sam@example.com")
    assert client.get(callback).status_code == 303
    client.post("/admin/logout")
    replayed = client.get(callback)
    assert replayed.status_code == 400
    assert "Single sign-on did not complete" in replayed.text
    stranger = sso_app.test_client().get(callback)
    assert stranger.status_code == 400


def test_an_unknown_colleague_is_refused_without_a_default_role(
    sso_app: Flask, provider: str
) -> None:
    _identity(provider, "new@example.com")
    client = sso_app.test_client()
    refused = client.get(_sign_on(client, provider, "new@example.com"))
    assert refused.status_code == 400
    assert "There is no admin account for new@example.com" in refused.text
    assert client.get("/admin/").status_code == 302


def test_a_first_sign_on_creates_an_account_with_the_default_role(
    tmp_path: Path, provider: str
) -> None:
    for app in _sso_app(tmp_path, provider, OIDC_DEFAULT_ROLE="viewer"):
        _identity(provider, "Vic@Example.com")
        client = app.test_client()
        assert client.get(_sign_on(client, provider, "Vic@Example.com")).status_code == 303
        with app.app_context():
            user = db.session.scalars(select(User)).one()
            assert (user.email, user.role, user.password_hash) == (
                "vic@example.com",
                "viewer",
                None,
            )
        refused = app.test_client().post(
            "/admin/login", data={"email": "vic@example.com", "password": "any password at all"}
        )
        assert "The email address or password is not right" in refused.text


def test_only_allowed_domains_may_sign_on(tmp_path: Path, provider: str) -> None:
    for app in _sso_app(
        tmp_path, provider, OIDC_DEFAULT_ROLE="viewer", OIDC_ALLOWED_DOMAINS="example.com"
    ):
        _identity(provider, "eve@elsewhere.example")
        client = app.test_client()
        refused = client.get(_sign_on(client, provider, "eve@elsewhere.example"))
        assert refused.status_code == 400
        assert "not in a domain allowed to sign in here" in refused.text


def test_an_unverified_email_is_refused(sso_app: Flask, provider: str) -> None:
    make_user(sso_app, "admin", "ann@example.com")
    _identity(provider, "ann@example.com", email_verified=False)
    client = sso_app.test_client()
    refused = client.get(_sign_on(client, provider, "ann@example.com"))
    assert "has not verified this email address" in refused.text


def test_denying_at_the_provider_signs_nobody_in(sso_app: Flask, provider: str) -> None:
    client = sso_app.test_client()
    started = client.post("/admin/login/sso")
    denied = requests.post(
        started.location, data={"action": "deny"}, allow_redirects=False, timeout=10
    )
    parts = urlsplit(denied.headers["Location"])
    refused = client.get(f"{parts.path}?{parts.query}")
    assert refused.status_code == 400
    assert client.get("/admin/").status_code == 302


def test_without_configuration_there_is_no_single_sign_on(client: FlaskClient) -> None:
    assert "Sign in with" not in client.get("/admin/login").text
    assert client.post("/admin/login/sso").status_code == 404
    assert client.get("/admin/login/sso/callback").status_code == 404

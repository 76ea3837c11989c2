"""Admin console access: accounts, sign-in, roles for every route, idle sign-out."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.admin.accounts import PERMISSIONS, ROLES
from app.admin.guard import PUBLIC, required_permission
from app.extensions import db
from app.models import AuditEntry, User
from tests.admin import PASSWORD, make_user, sign_in, signed_in_as
from tests.conftest import Clock, reset_database, test_settings


def test_users_create_prints_a_password_once_and_stores_only_its_hash(app: Flask) -> None:
    result = app.test_cli_runner().invoke(
        args=["users", "create", "--email", "Ops@Example.com", "--role", "support"]
    )
    assert result.exit_code == 0, result.output
    password = re.search(r"Password \(shown once\): (\S+)", result.output)
    assert password is not None
    with app.app_context():
        user = db.session.scalars(select(User)).one()
        assert (user.email, user.role) == ("ops@example.com", "support")
        assert user.password_hash is not None
        assert user.password_hash.startswith("$argon2id$")
        assert password.group(1) not in user.password_hash
    sign_in(app.test_client(), "ops@example.com", password.group(1))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--email", "x@example.com", "--role", "owner"], "Invalid value for '--role'"),
        (["--email", "not-an-email", "--role", "admin"], "email address"),
    ],
)
def test_users_create_refuses_bad_input(app: Flask, args: list[str], message: str) -> None:
    result = app.test_cli_runner().invoke(args=["users", "create", *args])
    assert result.exit_code != 0
    assert message in result.output


def test_an_email_can_have_only_one_account(app: Flask) -> None:
    make_user(app, "viewer", "same@example.com")
    result = app.test_cli_runner().invoke(
        args=["users", "create", "--email", "SAME@example.com", "--role", "admin"]
    )
    assert result.exit_code != 0
    assert "already has an account" in result.output


def test_signing_in_leads_to_the_page_asked_for(app: Flask, client: FlaskClient) -> None:
    email = make_user(app, "viewer")
    asked = client.get("/admin/")
    assert asked.status_code == 302
    assert asked.location.startswith("/admin/login?next=/admin/")
    response = client.post("/admin/login?next=/admin/", data={"email": email, "password": PASSWORD})
    assert response.location == "/admin/"
    page = client.get("/admin/")
    assert page.status_code == 200
    assert "viewer@example.com" in page.text
    with app.app_context():
        entry = db.session.scalars(select(AuditEntry)).one()
        assert (entry.actor_id, entry.action) == (email, "user.login")


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "javascript:x"])
def test_sign_in_never_leads_off_site(app: Flask, client: FlaskClient, target: str) -> None:
    email = make_user(app, "viewer")
    response = client.post(
        "/admin/login", query_string={"next": target}, data={"email": email, "password": PASSWORD}
    )
    assert response.location == "/admin/"


@pytest.mark.parametrize(
    ("email", "password"),
    [("viewer@example.com", "wrong password here"), ("nobody@example.com", PASSWORD)],
)
def test_a_wrong_email_or_password_says_so_without_telling_which(
    app: Flask, client: FlaskClient, email: str, password: str
) -> None:
    make_user(app, "viewer")
    response = client.post("/admin/login", data={"email": email, "password": password})
    assert response.status_code == 200
    assert "The email address or password is not right" in response.text
    assert client.get("/admin/").status_code == 302


def test_a_deactivated_account_cannot_sign_in_and_its_sessions_end(
    app: Flask, client: FlaskClient
) -> None:
    email = make_user(app, "admin")
    sign_in(client, email)
    result = app.test_cli_runner().invoke(args=["users", "deactivate", email])
    assert result.exit_code == 0, result.output
    assert client.get("/admin/").status_code == 302
    response = client.post("/admin/login", data={"email": email, "password": PASSWORD})
    assert "The email address or password is not right" in response.text


def test_failed_sign_ins_are_throttled(app: Flask, client: FlaskClient) -> None:
    email = make_user(app, "viewer")
    for _ in range(3):
        wrong = client.post("/admin/login", data={"email": email, "password": "nope" * 4})
        assert wrong.status_code == 200
    blocked = client.post("/admin/login", data={"email": email, "password": PASSWORD})
    assert blocked.status_code == 429
    assert "Too many attempts" in blocked.text


def test_successful_sign_ins_do_not_count_towards_the_limit(
    app: Flask, client: FlaskClient
) -> None:
    email = make_user(app, "viewer")
    for _ in range(8):
        sign_in(client, email)
        client.post("/admin/logout")


def test_an_idle_session_is_signed_out(app: Flask, client: FlaskClient, clock: Clock) -> None:
    email = make_user(app, "viewer")
    sign_in(client, email)
    clock.advance(timedelta(hours=1))  # longer than any session may stay idle
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login" in response.location
    page = client.get(response.location)
    assert "signed out after a period of inactivity" in page.text


def test_signing_out_ends_the_session(app: Flask, client: FlaskClient) -> None:
    sign_in(client, make_user(app, "viewer"))
    assert client.post("/admin/logout").status_code == 303
    assert client.get("/admin/").status_code == 302


def _admin_routes(app: Flask) -> list[tuple[str, str, str]]:
    """Every admin (rule, method, endpoint), with any URL arguments filled in."""
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("admin."):
            continue
        path = re.sub(r"<int:[^>]+>", "999999", rule.rule)
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", "x", path)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            routes.append((path, method, rule.endpoint))
    return routes


def test_every_admin_route_names_the_permission_it_needs(app: Flask) -> None:
    known = set().union(*PERMISSIONS.values()) | {PUBLIC}
    with app.test_request_context():
        for path, method, endpoint in _admin_routes(app):
            assert required_permission(endpoint) in known, (method, path)


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    from app import create_app

    folder: Path = tmp_path_factory.mktemp("console")
    app = create_app(test_settings(folder, ADMIN_LOGIN_RATE_LIMIT="1000 per minute"))
    reset_database(app)
    for role in ROLES:
        make_user(app, role)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.mark.parametrize("role", ROLES)
def test_each_role_reaches_exactly_the_routes_it_may(console: Flask, role: str) -> None:
    client = console.test_client()
    sign_in(client, f"{role}@example.com")
    with console.test_request_context():
        routes = [(p, m, required_permission(e)) for p, m, e in _admin_routes(console)]
    for path, method, permission in routes:
        if permission == PUBLIC or path == "/admin/logout":
            continue
        response = client.open(path, method=method)
        allowed = permission in PERMISSIONS[role]
        assert (response.status_code != 403) == allowed, (role, method, path, response.status)


def test_anonymous_visitors_reach_only_the_sign_in_page(console: Flask) -> None:
    client = console.test_client()
    with console.test_request_context():
        routes = [(p, m, required_permission(e)) for p, m, e in _admin_routes(console)]
    for path, method, permission in routes:
        response = client.open(path, method=method)
        if permission == PUBLIC:
            # The sign-in page, or single sign-on (not configured here: not found).
            assert response.status_code in (200, 303, 404), path
        else:
            assert response.status_code == 302, (method, path)
            assert "/admin/login" in response.location


def test_a_refused_colleague_is_told_to_ask_an_admin(app: Flask) -> None:
    page = signed_in_as(app, "viewer").get("/admin/users")
    assert page.status_code == 403
    assert "Your role does not include this" in page.text
    assert "Open the link you were sent" not in page.text

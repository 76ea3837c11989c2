"""Admin sessions live on the server: signing out, a new password, a new role or
deactivation ends them on every device, and a copied cookie is then worth nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.models import AdminSession, User
from tests.admin import PASSWORD, make_user, sign_in
from tests.conftest import Clock
from tests.pages import text_of

COOKIE = "onramp_session"


def copy_of(app: Flask, device: FlaskClient) -> FlaskClient:
    """Another browser holding a copy of ``device``'s session cookie."""
    cookie = device.get_cookie(COOKIE)
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie(COOKIE, cookie.value)
    return thief


def signed_in(app: Flask, email: str) -> FlaskClient:
    device = app.test_client()
    sign_in(device, email)
    assert device.get("/admin/").status_code == 200
    return device


def is_signed_out(client: FlaskClient) -> bool:
    response = client.get("/admin/")
    return response.status_code == 302 and response.location.startswith("/admin/login")


def _user_id(app: Flask, email: str) -> int:
    with app.app_context():
        user = db.session.scalars(select(User).where(User.email == email)).one()
        return user.id


def test_a_cookie_copied_before_signing_out_is_worthless_after(app: Flask) -> None:
    device = signed_in(app, make_user(app, "admin"))
    copy = copy_of(app, device)
    assert copy.get("/admin/").status_code == 200

    device.post("/admin/logout")

    assert is_signed_out(device)
    assert is_signed_out(copy)
    # No remember-me cookie outlives the session either.
    assert device.get_cookie("remember_token") is None


def test_signing_out_on_one_device_leaves_the_others(app: Flask) -> None:
    email = make_user(app, "viewer")
    laptop, phone = signed_in(app, email), signed_in(app, email)

    laptop.post("/admin/logout")

    assert is_signed_out(laptop)
    assert phone.get("/admin/").status_code == 200


def test_a_new_password_ends_every_session(app: Flask) -> None:
    email = make_user(app, "viewer")
    laptop, phone = signed_in(app, email), signed_in(app, email)
    copy = copy_of(app, laptop)

    result = app.test_cli_runner().invoke(
        args=["users", "set-password", email, "--password-stdin"],
        input="a brand new passphrase\n",
    )

    assert result.exit_code == 0, result.output
    assert "signed out everywhere" in result.output
    assert all(is_signed_out(each) for each in (laptop, phone, copy))
    sign_in(app.test_client(), email, "a brand new passphrase")
    assert (
        app.test_client()
        .post("/admin/login", data={"email": email, "password": PASSWORD})
        .status_code
        == 200
    )


def test_set_password_prints_a_generated_one_and_refuses_unknown_accounts(app: Flask) -> None:
    email = make_user(app, "viewer")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "set-password", email])
    assert result.exit_code == 0, result.output
    password = result.output.split("Password (shown once): ")[1].strip()
    sign_in(app.test_client(), email, password)

    unknown = runner.invoke(args=["users", "set-password", "nobody@example.com"])
    assert unknown.exit_code != 0
    assert "No account for nobody@example.com" in unknown.output
    short = runner.invoke(args=["users", "set-password", email, "--password-stdin"], input="x\n")
    assert short.exit_code != 0
    assert "at least 12 characters" in short.output


def test_a_role_change_ends_every_session_of_that_colleague(app: Flask) -> None:
    email = make_user(app, "editor")
    device = signed_in(app, email)
    copy = copy_of(app, device)
    admin = signed_in(app, make_user(app, "admin"))

    admin.post(f"/admin/users/{_user_id(app, email)}/role", data={"role": "viewer"})

    assert is_signed_out(device)
    assert is_signed_out(copy)
    assert admin.get("/admin/").status_code == 200


@pytest.mark.parametrize("where", ["console", "command line"])
def test_deactivation_ends_every_session(app: Flask, where: str) -> None:
    email = make_user(app, "support")
    device = signed_in(app, email)
    copy = copy_of(app, device)

    if where == "console":
        admin = signed_in(app, make_user(app, "admin"))
        admin.post(f"/admin/users/{_user_id(app, email)}/deactivate")
    else:
        assert app.test_cli_runner().invoke(args=["users", "deactivate", email]).exit_code == 0

    assert is_signed_out(device)
    assert is_signed_out(copy)


def test_an_idle_session_ends_for_every_copy_too(app: Flask, clock: Clock) -> None:
    device = signed_in(app, make_user(app, "viewer"))
    copy = copy_of(app, device)

    clock.advance(timedelta(hours=1))
    response = device.get("/admin/")
    assert response.status_code == 302
    assert "signed out after a period of inactivity" in text_of(device.get(response.location))

    assert is_signed_out(copy)


def test_a_session_in_use_stays_signed_in(app: Flask, clock: Clock) -> None:
    device = signed_in(app, make_user(app, "viewer"))

    # A request every 20 minutes for an hour: never 30 minutes without one.
    for _ in range(3):
        clock.advance(timedelta(minutes=20))
        assert device.get("/admin/").status_code == 200


def test_the_database_holds_no_usable_session(app: Flask) -> None:
    device = signed_in(app, make_user(app, "viewer"))
    cookie = device.get_cookie(COOKIE)
    assert cookie is not None
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    token = serializer.loads(cookie.value)["_user_id"]

    with app.app_context():
        stored = db.session.scalars(select(AdminSession)).one()
        assert token not in (stored.token_hash, str(stored.id))
        assert stored.revoked_at is None

"""Admins manage colleagues' accounts in the console; every change is audited."""

from __future__ import annotations

import re

from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEntry, User
from tests.admin import make_user, sign_in, signed_in_as
from tests.pages import text_of


def _user(app: Flask, email: str) -> User:
    with app.app_context():
        user = db.session.scalars(select(User).where(User.email == email)).one()
        db.session.expunge(user)
        return user


def _actions(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_an_admin_adds_a_colleague_who_can_then_sign_in(app: Flask) -> None:
    admin = signed_in_as(app, "admin")
    page = admin.post("/admin/users", data={"email": "New@Example.com", "role": "support"})
    assert "Account created for new@example.com" in text_of(page)
    password = re.search(r'<code class="secret">([^<]+)</code>', page.text)
    assert password is not None
    colleague = app.test_client()
    sign_in(colleague, "new@example.com", password.group(1))
    assert "new@example.com (support)" in colleague.get("/admin/").text
    assert "user.create" in _actions(app)
    assert password.group(1) not in admin.get("/admin/users").text


def test_adding_an_existing_or_malformed_address_is_explained(app: Flask) -> None:
    admin = signed_in_as(app, "admin")
    again = admin.post("/admin/users", data={"email": "admin@example.com", "role": "viewer"})
    assert "admin@example.com already has an account" in text_of(again)
    bad = admin.post("/admin/users", data={"email": "", "role": "owner"})
    assert "Enter the colleague's email address." in text_of(bad)
    assert "Not a valid choice" in text_of(bad)


def test_a_role_change_applies_at_once_and_is_audited(app: Flask) -> None:
    email = make_user(app, "viewer")
    colleague = app.test_client()
    sign_in(colleague, email)
    admin = signed_in_as(app, "admin")
    user = _user(app, email)
    changed = admin.post(f"/admin/users/{user.id}/role", data={"role": "editor"})
    assert changed.status_code == 303
    assert _user(app, email).role == "editor"
    # Sessions signed in under the old role end: the colleague signs in again.
    assert colleague.get("/admin/").status_code == 302
    with app.app_context():
        entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "user.role")).one()
        assert (entry.before, entry.after) == ({"role": "viewer"}, {"role": "editor"})


def test_an_admin_cannot_demote_or_deactivate_themselves(app: Flask) -> None:
    admin = signed_in_as(app, "admin")
    me = _user(app, "admin@example.com")
    demoted = admin.post(
        f"/admin/users/{me.id}/role", data={"role": "viewer"}, follow_redirects=True
    )
    assert "You cannot take away your own admin role" in text_of(demoted)
    gone = admin.post(f"/admin/users/{me.id}/deactivate", follow_redirects=True)
    assert "You cannot deactivate your own account" in text_of(gone)
    assert _user(app, "admin@example.com").active


def test_a_deactivated_colleague_is_signed_out(app: Flask) -> None:
    email = make_user(app, "support")
    colleague = app.test_client()
    sign_in(colleague, email)
    admin = signed_in_as(app, "admin")
    admin.post(f"/admin/users/{_user(app, email).id}/deactivate")
    assert colleague.get("/admin/").status_code == 302
    assert _actions(app)[-1] == "user.deactivate"


def test_other_roles_cannot_manage_users(app: Flask) -> None:
    target = _user(app, make_user(app, "viewer", "target@example.com"))
    for role in ("editor", "support", "viewer"):
        client = signed_in_as(app, role)
        assert client.get("/admin/users").status_code == 403
        assert (
            client.post(f"/admin/users/{target.id}/role", data={"role": "admin"}).status_code == 403
        )
    assert _user(app, "target@example.com").role == "viewer"


def test_unknown_users_are_not_found(app: Flask) -> None:
    admin = signed_in_as(app, "admin")
    assert admin.post("/admin/users/999/deactivate").status_code == 404

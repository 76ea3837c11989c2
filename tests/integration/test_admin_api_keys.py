"""Admins create and revoke API keys in the console; the key is shown once, audited."""

from __future__ import annotations

import re

from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import ApiKey, AuditEntry
from tests.admin import signed_in_as
from tests.pages import text_of


def _actions(app: Flask) -> list[tuple[str, str]]:
    with app.app_context():
        rows = db.session.execute(
            select(AuditEntry.actor_id, AuditEntry.action).order_by(AuditEntry.id)
        ).all()
        return [(actor, action) for actor, action in rows]


def test_an_admin_creates_a_key_that_works_once_shown(app: Flask) -> None:
    admin = signed_in_as(app, "admin")
    page = admin.post("/admin/api-keys", data={"name": "loan backend", "scopes": ["read"]})
    assert "Key created" in text_of(page)
    assert page.headers["Cache-Control"] == "no-store"
    key = re.search(r'<code class="secret">(onr_[^<]+)</code>', page.text)
    assert key is not None
    called = app.test_client().get(
        "/api/v1/journeys", headers={"Authorization": f"Bearer {key.group(1)}"}
    )
    assert called.status_code == 200
    listing = admin.get("/admin/api-keys").text
    assert key.group(1) not in listing
    assert "loan backend" in listing
    assert ("admin@example.com", "api_key.create") in _actions(app)


def test_a_revoked_key_is_refused(app: Flask) -> None:
    admin = signed_in_as(app, "admin")
    page = admin.post("/admin/api-keys", data={"name": "old", "scopes": ["read", "write"]})
    key = re.search(r'<code class="secret">(onr_[^<]+)</code>', page.text)
    assert key is not None
    with app.app_context():
        prefix = db.session.scalars(select(ApiKey.prefix)).one()
    revoked = admin.post(f"/admin/api-keys/{prefix}/revoke", follow_redirects=True)
    assert f"The key {prefix} is revoked" in text_of(revoked)
    refused = app.test_client().get(
        "/api/v1/journeys", headers={"Authorization": f"Bearer {key.group(1)}"}
    )
    assert refused.status_code == 401
    assert _actions(app)[-1] == ("admin@example.com", "api_key.revoke")


def test_a_key_needs_a_name_and_a_known_scope(app: Flask) -> None:
    admin = signed_in_as(app, "admin")
    page = text_of(admin.post("/admin/api-keys", data={"name": "", "scopes": ["root"]}))
    assert "Say what the key is for" in page
    assert "not a valid choice" in page.lower()
    with app.app_context():
        assert db.session.scalars(select(ApiKey)).all() == []


def test_keys_made_with_the_cli_are_audited_too(app: Flask) -> None:
    result = app.test_cli_runner().invoke(
        args=["api-keys", "create", "--name", "pipeline", "--scope", "credentials"]
    )
    assert result.exit_code == 0, result.output
    assert _actions(app) == [("flask api-keys", "api_key.create")]


def test_only_admins_manage_keys(app: Flask) -> None:
    for role in ("editor", "support", "viewer"):
        client = signed_in_as(app, role)
        assert client.get("/admin/api-keys").status_code == 403
        made = client.post("/admin/api-keys", data={"name": "x", "scopes": ["read"]})
        assert made.status_code == 403
    with app.app_context():
        assert db.session.scalars(select(ApiKey)).all() == []


def test_revoking_an_unknown_key_is_not_found(app: Flask) -> None:
    assert signed_in_as(app, "admin").post("/admin/api-keys/onr_nope/revoke").status_code == 404


def test_the_console_offers_the_files_scope_for_a_data_pipeline(app: Flask) -> None:
    admin = signed_in_as(app, "admin")
    assert "files — download the files customers uploaded" in text_of(admin.get("/admin/api-keys"))
    page = admin.post("/admin/api-keys", data={"name": "pipeline", "scopes": ["files"]})
    assert "Key created" in text_of(page)
    with app.app_context():
        key = db.session.scalars(select(ApiKey).where(ApiKey.name == "pipeline")).one()
        assert key.scope_set == {"files"}

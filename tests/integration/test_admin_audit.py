"""Admin console, audit log: admins read every change, filtered by actor, action,
subject and date, page by page."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.admin.keyset import PAGE_SIZE
from app.extensions import db
from app.models import AuditEntry
from tests.admin import signed_in_as


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def entries(app: Flask) -> None:
    with app.app_context():
        db.session.add_all(
            [
                AuditEntry(
                    actor_type="user",
                    actor_id="Support@Example.com",
                    action="customer.note_added",
                    subject_type="customer",
                    subject_id="cust-1",
                    after={"note_id": 1},
                    occurred_at=_at("2025-02-01T09:00:00"),
                ),
                AuditEntry(
                    actor_type="api_key",
                    actor_id="onr_abc123",
                    action="customer.create",
                    subject_type="customer",
                    subject_id="cust-2",
                    occurred_at=_at("2025-02-02T10:00:00"),
                ),
                AuditEntry(
                    actor_type="user",
                    actor_id="support@example.com",
                    action="connection.disconnect",
                    subject_type="connection",
                    subject_id="conn-1",
                    before={"status": "linked"},
                    after={"status": "disconnected"},
                    occurred_at=_at("2025-02-03T11:00:00"),
                ),
                AuditEntry(
                    actor_type="cli",
                    actor_id="flask users create",
                    action="customers.imported",
                    subject_type="customer",
                    subject_id="cust-1",
                    occurred_at=_at("2025-02-04T12:00:00"),
                ),
            ]
        )
        db.session.commit()


@pytest.fixture
def admin(app: Flask) -> FlaskClient:
    return signed_in_as(app, "admin")


def _actions(html: str) -> list[str]:
    """The actions a page lists (the sign-in of the admin reading it left out)."""
    found = re.findall(r"<td><code>([a-z0-9_.]+)</code></td>", html)
    return [action for action in found if action != "user.login"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            {},
            [
                "customers.imported",
                "connection.disconnect",
                "customer.create",
                "customer.note_added",
            ],
        ),
        ({"actor": "SUPPORT@example"}, ["connection.disconnect", "customer.note_added"]),
        ({"actor": "onr_"}, ["customer.create"]),
        ({"action": "customer.create"}, ["customer.create"]),
        # An area: its actions, not those of another area that starts alike.
        ({"action": "customer"}, ["customer.create", "customer.note_added"]),
        ({"action": "customer."}, ["customer.create", "customer.note_added"]),
        (
            {"subject_type": "customer", "subject_id": "cust-1"},
            ["customers.imported", "customer.note_added"],
        ),
        ({"subject_type": "connection"}, ["connection.disconnect"]),
        (
            {"date_from": "2025-02-02", "date_to": "2025-02-03"},
            ["connection.disconnect", "customer.create"],
        ),
        ({"actor": "nobody"}, []),
    ],
)
def test_admins_filter_the_audit_log(
    admin: FlaskClient, entries: None, query: dict[str, str], expected: list[str]
) -> None:
    response = admin.get("/admin/audit", query_string=query)
    assert response.status_code == 200
    assert _actions(response.text) == expected
    if not expected:
        assert "No audit entry matches these filters." in response.text


def test_an_entry_shows_who_what_and_the_change(admin: FlaskClient, entries: None) -> None:
    text = unescape(admin.get("/admin/audit", query_string={"subject_id": "conn-1"}).text)
    assert "support@example.com" in text
    assert '{"status": "linked"}' in text
    assert '{"status": "disconnected"}' in text
    assert "2025-02-03 11:00:00 UTC" in text


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"date_to": "yesterday"}, "Enter the date as YYYY-MM-DD"),
        ({"date_from": "2025-02-03", "date_to": "2025-02-01"}, "on or after the start date"),
        ({"actor": "x" * 321}, "at most 320 characters"),
        ({"after": "1e3"}, "That page link is not one this list made"),
    ],
)
def test_bad_filters_are_explained_with_400(
    admin: FlaskClient, query: dict[str, str], message: str
) -> None:
    response = admin.get("/admin/audit", query_string=query)
    assert response.status_code == 400
    assert message in unescape(response.text)


def test_the_audit_log_is_paged_newest_first(app: Flask, admin: FlaskClient) -> None:
    with app.app_context():
        db.session.add_all(
            AuditEntry(actor_type="cli", actor_id="test", action=f"bulk.n{i:03}")
            for i in range(PAGE_SIZE + 2)
        )
        db.session.commit()
    first = admin.get("/admin/audit", query_string={"action": "bulk"})
    actions = _actions(first.text)
    assert len(actions) == PAGE_SIZE
    assert actions[0] == f"bulk.n{PAGE_SIZE + 1:03}"
    older = re.search(r'href="([^"]+)" rel="next"', first.text)
    assert older is not None
    assert _actions(admin.get(unescape(older.group(1))).text) == ["bulk.n001", "bulk.n000"]


@pytest.mark.parametrize("role", ["viewer", "support", "editor"])
def test_only_admins_see_the_audit_log(app: Flask, role: str) -> None:
    colleague = signed_in_as(app, role)
    assert colleague.get("/admin/audit").status_code == 403
    assert "Audit log" not in colleague.get("/admin/").text


def test_changes_made_in_the_console_appear_in_the_audit_log(
    app: Flask, admin: FlaskClient
) -> None:
    with app.app_context():
        from app.customers.records import create_customer

        public_id = create_customer("Acme Ltd", "owner@acme.example").public_id
    support = signed_in_as(app, "support")
    support.post(f"/admin/customers/{public_id}/notes", data={"body": "Called"})
    assert "Audit log" in admin.get("/admin/").text
    response = admin.get(
        "/admin/audit", query_string={"subject_type": "customer", "subject_id": public_id}
    )
    assert _actions(response.text) == ["customer.note_added"]
    assert "support@example.com" in response.text

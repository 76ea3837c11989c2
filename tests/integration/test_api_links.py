"""The API's journey links: emailed on request, read back, revoked and reissued."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app import mail
from app.extensions import db
from app.models import AuditEntry
from tests.integration.api_helpers import Api, create_key, fields, problem
from tests.mail_sink import smtp_sink

CUSTOMER = "/api/v1/customers/crm-42"
EMAIL = "owner@acme.example"


@pytest.fixture
def backend(app: Flask, client: FlaskClient) -> Api:
    api = Api(client, create_key(app, "read", "write"))
    made = api.put(CUSTOMER, json={"name": "Acme Trading Ltd", "email": EMAIL})
    assert made.status_code == 201
    return api


def _link(api: Api, **body: Any) -> dict[str, Any]:
    response = api.post(f"{CUSTOMER}/links", json=body)
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.get_json()
    return answer


def test_a_link_is_kept_and_read_back_without_its_url(backend: Api) -> None:
    made = _link(backend, journey_id="business", single_use=True)
    assert made["url"].startswith("http://localhost/j/")
    assert (made["status"], made["sent_to"], made["single_use"]) == ("not_sent", None, True)
    read = backend.get(f"/api/v1/links/{made['id']}")
    assert read.status_code == 200
    body = read.get_json()
    assert body["url"] is None
    assert {k: body[k] for k in ("id", "journey_id", "status")} == {
        "id": made["id"],
        "journey_id": "business",
        "status": "not_sent",
    }


def test_send_email_emails_it_and_the_status_follows(app: Flask, backend: Api) -> None:
    with smtp_sink() as (sink, settings):
        app.config.update(settings)
        made = _link(backend, send_email=True)
        assert (made["status"], made["sent_to"]) == ("sending", EMAIL)
        with app.app_context():
            mail.send_due()
        [message] = sink.to(EMAIL)
    assert "Northwind Lending" in message["Subject"]
    assert backend.get(f"/api/v1/links/{made['id']}").get_json()["status"] == "sent"
    with app.app_context():
        entry = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "customer.link_created")
        ).one()
        assert entry.actor_type == "api_key" and entry.after is not None
        assert entry.after["emailed"] is True and made["url"] not in str(entry.after)


def test_send_email_without_mail_is_a_conflict_and_makes_nothing(backend: Api) -> None:
    body = problem(backend.post(f"{CUSTOMER}/links", json={"send_email": True}), 409, "conflict")
    assert "Mail is not configured" in body["detail"]


def test_revoke_is_idempotent_and_the_link_is_withdrawn(app: Flask, backend: Api) -> None:
    made = _link(backend)
    first = backend.post(f"/api/v1/links/{made['id']}/revoke")
    assert first.status_code == 200
    assert first.get_json()["status"] == "revoked" and first.get_json()["revoked_at"]
    again = backend.post(f"/api/v1/links/{made['id']}/revoke")
    assert again.status_code == 200
    assert again.get_json()["revoked_at"] == first.get_json()["revoked_at"]
    opened = app.test_client().get(made["url"].removeprefix("http://localhost"))
    assert opened.status_code == 410
    assert "This link was withdrawn" in opened.text


def test_reissue_makes_a_new_link_once(app: Flask, backend: Api) -> None:
    made = _link(backend, journey_id="business", locale="en", expires_in=3600)
    reissued = backend.post(f"/api/v1/links/{made['id']}/reissue")
    assert reissued.status_code == 201
    new = reissued.get_json()
    assert new["id"] != made["id"] and new["url"] and new["journey_id"] == "business"
    old = backend.get(f"/api/v1/links/{made['id']}").get_json()
    assert (old["status"], old["replaced_by"]) == ("revoked", new["id"])
    assert app.test_client().get(new["url"].removeprefix("http://localhost")).status_code == 303
    body = problem(backend.post(f"/api/v1/links/{made['id']}/reissue"), 409, "conflict")
    assert new["id"] in body["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"send_email": "yes"}, "send_email"),
        ({"single_use": 1}, "single_use"),
        ({"send_email": None}, "send_email"),
    ],
)
def test_bad_bodies_name_the_field(backend: Api, body: dict[str, Any], field: str) -> None:
    assert fields(
        problem(backend.post(f"{CUSTOMER}/links", json=body), 422, "validation-error")
    ) == [field]


@pytest.mark.parametrize("action", ["", "/revoke", "/reissue"])
def test_unknown_links_are_not_found(backend: Api, action: str) -> None:
    path = f"/api/v1/links/00000000-0000-4000-8000-000000000000{action}"
    response = backend.get(path) if not action else backend.post(path)
    problem(response, 404, "not-found")


def test_reading_needs_read_and_changing_needs_write(app: Flask, backend: Api) -> None:
    made = _link(backend)
    reader = Api(backend.client, create_key(app, "read", name="reader"))
    assert reader.get(f"/api/v1/links/{made['id']}").status_code == 200
    problem(reader.post(f"/api/v1/links/{made['id']}/revoke"), 403, "insufficient-scope")

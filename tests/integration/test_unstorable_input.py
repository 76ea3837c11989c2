"""Text no database column can hold (NUL, lone surrogates) is refused with a 4xx, never a 500.

PostgreSQL refuses a NUL character in text; a lone surrogate cannot be encoded at all.
One guard (app/input_guard.py) checks every request's path, query string, form fields
and headers, and the API's JSON bodies: people get a page saying what to do, API
clients a problem document naming the field. Each place below once answered 500.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from app.customers.records import create_customer
from app.extensions import db
from app.input_guard import UNSTORABLE_MESSAGE
from app.models import CustomerNote
from tests.admin import make_user, signed_in_as
from tests.integration.api_helpers import Api, create_key, fields, problem
from tests.pages import text_of

NUL = "\x00"
LONE_SURROGATE = "\ud800"
REFUSED_PAGE = "contains a character that can't be stored"


def _api(app: Flask) -> Api:
    return Api(app.test_client(), create_key(app, "read", "write"))


def _customer_name(app: Flask, text: str) -> TestResponse:
    body = {"name": f"Acme{text}Ltd", "email": "owner@acme.example"}
    return _api(app).put("/api/v1/customers/crm-1", json=body)


def _consents_item_filter(app: Flask, text: str) -> TestResponse:
    return _api(app).get("/api/v1/consents", query_string={"item": f"share{text}"})


def _webhook_description(app: Flask, text: str) -> TestResponse:
    body = {"url": "http://127.0.0.1:9/onramp-events", "description": f"CRM{text}"}
    return _api(app).post("/api/v1/webhook-endpoints", json=body)


def _sign_in_email(app: Flask, text: str) -> TestResponse:
    data = {"email": f"admin{text}@example.com", "password": "a password"}
    return app.test_client().post("/admin/login", data=data)


def _admin_note(app: Flask, text: str) -> TestResponse:
    with app.app_context():
        public_id = create_customer("Acme Ltd", "owner@acme.example").public_id
    support = signed_in_as(app, "support")
    return support.post(f"/admin/customers/{public_id}/notes", data={"body": f"Called{text}"})


def _customer_search(app: Flask, text: str) -> TestResponse:
    return signed_in_as(app, "viewer").get("/admin/customers", query_string={"q": f"acme{text}"})


def _audit_filter(app: Flask, text: str) -> TestResponse:
    admin = signed_in_as(app, "admin")
    return admin.get("/admin/audit", query_string={"actor": f"admin{text}"})


@dataclass(frozen=True)
class Place:
    send: Callable[[Flask, str], TestResponse]
    # None: a person's page; else the API's (status, problem type, field named).
    api: tuple[int, str, str] | None = None


PLACES = {
    "API customer name": Place(_customer_name, (422, "validation-error", "name")),
    "API consents item filter": Place(_consents_item_filter, (400, "invalid-parameter", "item")),
    "API webhook endpoint description": Place(
        _webhook_description, (422, "validation-error", "description")
    ),
    "admin sign-in email": Place(_sign_in_email),
    "admin note": Place(_admin_note),
    "admin customer search": Place(_customer_search),
    "admin audit filter": Place(_audit_filter),
}


@pytest.mark.parametrize("place", PLACES.values(), ids=PLACES.keys())
def test_a_nul_character_is_refused_with_a_clear_answer(app: Flask, place: Place) -> None:
    response = place.send(app, NUL)
    if place.api is None:
        assert response.status_code == 400
        assert response.mimetype == "text/html"
        assert REFUSED_PAGE in text_of(response)
        return
    status, slug, field = place.api
    body = problem(response, status, slug)
    assert fields(body) == [field]
    assert field in body["detail"]


def test_nothing_is_stored_from_a_refused_form(app: Flask) -> None:
    _admin_note(app, NUL)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CustomerNote)) == 0


def test_a_lone_surrogate_in_a_json_body_is_refused(app: Flask) -> None:
    # Valid JSON ("\ud800" is an escape JSON allows), yet not text any database can hold.
    raw = '{"name": "Acme \\ud800", "email": "owner@acme.example"}'
    response = _api(app).put("/api/v1/customers/crm-1", data=raw, content_type="application/json")
    assert problem(response, 422, "validation-error")["errors"] == [
        {"field": "name", "message": UNSTORABLE_MESSAGE}
    ]


def test_a_nested_json_field_is_named_by_its_path(app: Flask) -> None:
    body = {"url": "http://127.0.0.1:9/x", "event_types": ["consent.granted", f"x{NUL}"]}
    response = _api(app).post("/api/v1/webhook-endpoints", json=body)
    assert problem(response, 422, "validation-error")["errors"] == [
        {"field": "event_types.1", "message": UNSTORABLE_MESSAGE}
    ]


def test_a_nul_in_a_json_key_is_refused(app: Flask) -> None:
    body = {"name": "Acme", "email": "owner@acme.example", f"na{NUL}me": "x"}
    response = _api(app).put("/api/v1/customers/crm-1", json=body)
    # The name is echoed without the character that made it unusable.
    assert problem(response, 422, "validation-error")["errors"] == [
        {"field": "na\ufffdme", "message": UNSTORABLE_MESSAGE}
    ]


@pytest.mark.parametrize(
    "path", ["/admin/customers/%00", "/journey/welcome%00", "/my/receipts/%00"]
)
def test_a_nul_in_the_path_is_refused(app: Flask, path: str) -> None:
    response = signed_in_as(app, "support").get(path)
    assert response.status_code == 400
    assert REFUSED_PAGE in text_of(response)


@pytest.mark.parametrize(
    ("path", "page"),
    [
        ("/j/abc%00def", "This link isn't valid"),
        ("/my/abc%00def", "This link isn't valid"),
        ("/connect/handoff/abc%00def", "This sign-in link isn't valid"),
    ],
)
def test_a_nul_in_a_signed_link_is_a_link_that_isnt_valid(
    client: FlaskClient, path: str, page: str
) -> None:
    """A link's token is checked by its signature before anything is looked up: the
    customer is told the link is broken, which says more than "a character"."""
    response = client.get(path)
    assert response.status_code == 400
    assert page in text_of(response)


def test_a_nul_in_an_api_path_is_a_problem(app: Flask) -> None:
    response = _api(app).get("/api/v1/connections/%00")
    assert "path" in problem(response, 400, "invalid-parameter")["detail"]


def test_a_nul_in_a_header_is_refused(app: Flask, client: FlaskClient) -> None:
    # The consent ledger keeps the User-Agent as evidence: it must be storable text.
    with app.app_context():
        make_user(app, "viewer")
    response = client.get("/admin/login", headers={"User-Agent": f"Mozilla{NUL}"})
    assert response.status_code == 400
    assert REFUSED_PAGE in text_of(response)


def test_a_form_sent_with_a_get_is_checked_too(client: FlaskClient) -> None:
    # A page's GET has no body and its form is not read; one that has a body is.
    response = client.get(
        "/admin/login",
        data=f"name=Mozilla{NUL}".encode(),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400
    assert REFUSED_PAGE in text_of(response)


def test_a_nul_in_a_query_parameter_name_is_refused(app: Flask) -> None:
    response = _api(app).get("/api/v1/consents", query_string={f"it{NUL}em": "x"})
    assert problem(response, 400, "invalid-parameter")["errors"] == [
        {"field": "it\ufffdem", "message": UNSTORABLE_MESSAGE}
    ]


def test_ordinary_text_with_newlines_and_accents_still_works(app: Flask) -> None:
    with app.app_context():
        public_id = create_customer("Acme Ltd", "owner@acme.example").public_id
    support = signed_in_as(app, "support")
    note = "Rappelé le client\r\nà 14 h — très content 👍"
    response = support.post(f"/admin/customers/{public_id}/notes", data={"body": note})
    assert response.status_code == 303


def test_the_refusal_speaks_the_customers_language(client: FlaskClient) -> None:
    response = client.get("/journey/welcome%00", headers={"Accept-Language": "fr"})
    assert response.status_code == 400
    assert "caractère nul invisible" in text_of(response)


def test_a_signed_body_is_still_readable_after_the_guard_looked_at_it(app: Flask) -> None:
    # The guard reads form fields; a platform's webhook checks its signature on the raw
    # bytes, whatever Content-Type the platform (or a proxy) gave them.
    key = "xero-webhook-key-for-tests"
    app.config["XERO_WEBHOOK_KEY"] = key
    body = json.dumps({"events": []}).encode()
    signature = base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()
    response = app.test_client().post(
        "/webhooks/platforms/xero",
        data=body,
        content_type="application/x-www-form-urlencoded",
        headers={"x-xero-signature": signature},
    )
    assert response.status_code == 200

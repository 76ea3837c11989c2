"""Every bad request gets a problem+json answer with a stable type naming what is wrong."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.consent.ledger import Evidence, record_decisions
from app.engine.registry import get_journey
from app.engine.schema import ConsentStep
from app.engine.steps import start_or_resume
from app.extensions import db
from app.models import Customer
from tests.integration.api_helpers import Api, create_key, fields, problem

CUSTOMER = "/api/v1/customers/crm-1"
GOOD = {"name": "Acme Ltd", "email": "owner@acme.example"}
MISSING = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def api(app: Flask, client: FlaskClient) -> Api:
    return Api(client, create_key(app, "read", "write", "credentials"))


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"email": "owner@acme.example"}, ["name"]),
        ({"name": "Acme"}, ["email"]),
        ({}, ["name", "email"]),
        ({**GOOD, "phone": "0207"}, ["phone"]),
        ({**GOOD, "name": 42}, ["name"]),
        ({**GOOD, "name": "   "}, ["name"]),
        ({**GOOD, "name": "x" * 201}, ["name"]),
        ({**GOOD, "email": "not an email"}, ["email"]),
        ({**GOOD, "email": ["a@b.example"]}, ["email"]),
        ([GOOD], ["body"]),
        ("Acme", ["body"]),
    ],
)
def test_an_invalid_body_names_each_field(api: Api, body: Any, named: list[str]) -> None:
    response = api.put(CUSTOMER, json=body)
    assert fields(problem(response, 422, "validation-error")) == named


def test_the_validation_message_says_what_is_wrong(api: Api) -> None:
    body = problem(api.put(CUSTOMER, json={**GOOD, "extra": 1}), 422, "validation-error")
    assert body["errors"] == [{"field": "extra", "message": "Extra inputs are not permitted"}]
    assert "extra" in body["detail"]


@pytest.mark.parametrize("raw", ["{", '{"name": "A",}', "NaN", '{"name": NaN}', "\xff"])
def test_malformed_json_is_a_400(api: Api, raw: str) -> None:
    response = api.put(CUSTOMER, data=raw.encode("latin-1"), content_type="application/json")
    problem(response, 400, "malformed-json")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_body_that_is_not_json_is_a_415(api: Api, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    response = api.put(CUSTOMER, data='{"name": "A"}', headers=headers)
    problem(response, 415, "unsupported-media-type")


def test_an_oversized_body_is_a_413(app: Flask, api: Api) -> None:
    limit = app.config["API_MAX_BODY_BYTES"]
    body = {**GOOD, "name": "x" * limit}
    response = api.put(CUSTOMER, json=body)
    assert str(limit) in problem(response, 413, "payload-too-large")["detail"]
    with app.app_context():
        assert db.session.scalars(select(Customer)).first() is None


def test_a_bad_external_id_is_named(api: Api) -> None:
    response = api.put("/api/v1/customers/has%20space", json=GOOD)
    assert fields(problem(response, 400, "invalid-parameter")) == ["external_id"]


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/api/v1/customers/nobody", "GET"),
        ("/api/v1/customers/nobody/links", "POST"),
        (f"/api/v1/consents/{MISSING}/withdraw", "POST"),
        (f"/api/v1/connections/{MISSING}", "GET"),
        (f"/api/v1/connections/{MISSING}/disconnect", "POST"),
        (f"/api/v1/connections/{MISSING}/credentials", "GET"),
        ("/api/v1/connections/not-a-uuid", "GET"),
        (f"/api/v1/webhook-endpoints/{MISSING}", "DELETE"),
    ],
)
def test_an_unknown_id_is_a_404(api: Api, path: str, method: str) -> None:
    problem(api.call(method, path), 404, "not-found")


@pytest.mark.parametrize("path", ["/api/v1/nothing", "/api/v2/journeys", "/api/", "/api/v1/"])
def test_an_unknown_api_path_is_a_problem_not_a_page(api: Api, path: str) -> None:
    problem(api.get(path), 404, "not-found")


def test_a_wrong_method_is_a_405_with_the_allowed_ones(api: Api) -> None:
    response = api.call("PATCH", CUSTOMER, json=GOOD)
    problem(response, 405, "method-not-allowed")
    assert set(response.headers["Allow"].split(", ")) == {"GET", "PUT"}
    assert api.delete("/api/v1/consents").headers["Allow"] == "GET"


def test_pages_outside_the_api_keep_their_html_errors(client: FlaskClient) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"


def _consents(app: Flask, count: int) -> None:
    """``count`` runs of the default journey, each declining every consent item."""
    # The consent wording is built in the page's language: a request context.
    with app.test_request_context():
        journey = get_journey("default")
        assert journey is not None
        step = next(s for s in journey.steps if isinstance(s, ConsentStep))
        for i in range(count):
            customer = Customer(name=f"C{i}", email=f"c{i}@x.example", external_id=f"c{i}")
            db.session.add(customer)
            db.session.flush()
            run = start_or_resume(customer, journey, "en")
            db.session.flush()
            record_decisions(run, journey, step, set(), Evidence(None, None, "en"))
        db.session.commit()


def test_pages_follow_on_until_the_end(app: Flask, api: Api) -> None:
    _consents(app, 4)  # 3 items each: 12 records
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        query: dict[str, Any] = {"limit": 5, **({"cursor": cursor} if cursor else {})}
        page = api.get("/api/v1/consents", query_string=query).get_json()
        seen += [c["id"] for c in page["data"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert (pages, len(seen), len(set(seen))) == (3, 12, 12)


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"cursor": "made-up"}, "cursor"),
        ({"decision": "maybe"}, "decision"),
        ({"since": "yesterday"}, "since"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_a_bad_query_parameter_is_a_400_naming_it(
    api: Api, query: dict[str, Any], named: str
) -> None:
    response = api.get("/api/v1/consents", query_string=query)
    assert fields(problem(response, 400, "invalid-parameter")) == [named]


def test_a_cursor_cannot_be_tampered_with_or_moved(app: Flask, api: Api) -> None:
    _consents(app, 1)
    cursor = api.get("/api/v1/consents", query_string={"limit": 1}).get_json()["next_cursor"]
    payload, signature = cursor.split(".", 1)
    tampered = payload[:-1] + ("A" if payload[-1] != "A" else "B") + "." + signature
    for bad, path in ((tampered, "/api/v1/consents"), (cursor, "/api/v1/connections")):
        response = api.get(path, query_string={"cursor": bad})
        assert fields(problem(response, 400, "invalid-parameter")) == ["cursor"]


def test_a_repeated_query_parameter_is_refused(api: Api) -> None:
    response = api.get("/api/v1/connections?status=linked&status=failed")
    assert fields(problem(response, 400, "invalid-parameter")) == ["status"]

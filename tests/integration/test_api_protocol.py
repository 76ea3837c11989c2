"""The API keeps to its OpenAPI document at the edges of HTTP, always in problem+json.

Methods the document does not list (OPTIONS and TRACE included) are a 405 naming the
documented ones; date-times are RFC 3339 only; a query string over 4 KB is a 414; a
JSON body nested absurdly deep is a 400 rather than a crash of the parser.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from app.input_guard import MAX_JSON_DEPTH, MAX_QUERY_STRING_BYTES
from tests.conftest import test_settings
from tests.integration.api_helpers import Api, create_key, fields, problem
from tests.serving import start_gunicorn

ROOT = Path(__file__).resolve().parents[2]
CUSTOMER = "/api/v1/customers/crm-1"
GOOD = {"name": "Acme Ltd", "email": "owner@acme.example"}


@pytest.fixture
def api(app: Flask, client: FlaskClient) -> Api:
    return Api(client, create_key(app, "read", "write"))


# Methods


@pytest.mark.parametrize("method", ["OPTIONS", "TRACE", "CONNECT", "PROPFIND", "BREW"])
def test_a_method_the_document_does_not_list_is_a_405_problem(api: Api, method: str) -> None:
    response = api.call(method, CUSTOMER)
    problem(response, 405, "method-not-allowed")
    assert set(response.headers["Allow"].split(", ")) == {"GET", "PUT"}


def test_options_lists_only_the_documented_methods_of_each_path(
    api: Api, client: FlaskClient
) -> None:
    document = client.get("/api/openapi.json").get_json()
    for template, operations in document["paths"].items():
        path = template.replace("{external_id}", "crm-1").replace(
            "{consent_id}", "00000000-0000-4000-8000-000000000000"
        )
        for name in ("connection_id", "endpoint_id"):
            path = path.replace("{" + name + "}", "00000000-0000-4000-8000-000000000000")
        response = api.call("OPTIONS", path)
        problem(response, 405, "method-not-allowed")
        assert set(response.headers["Allow"].split(", ")) == {m.upper() for m in operations}
    assert api.call("OPTIONS", "/api/openapi.json").headers["Allow"] == "GET"


def test_head_still_answers_like_get(api: Api) -> None:
    assert api.call("HEAD", "/api/v1/journeys").status_code == 200


# Date-times


@pytest.mark.parametrize("name", ["since", "until"])
@pytest.mark.parametrize("value", ["0.5", "1700000000", "2026-01-01", "2026-01-01 10:00:00Z"])
def test_a_date_time_that_is_not_rfc_3339_is_a_400_naming_it(
    api: Api, name: str, value: str
) -> None:
    response = api.get("/api/v1/consents", query_string={name: value})
    body = problem(response, 400, "invalid-parameter")
    assert fields(body) == [name]
    assert "RFC 3339" in body["errors"][0]["message"]


@pytest.mark.parametrize("value", ["2026-01-01T10:00:00Z", "2026-01-01T10:00:00.250+02:00"])
def test_an_rfc_3339_date_time_is_accepted(api: Api, value: str) -> None:
    assert api.get("/api/v1/consents", query_string={"until": value}).status_code == 200


# Long query strings


def test_a_query_string_over_4_kb_is_a_414_problem(api: Api) -> None:
    long = "x" * (MAX_QUERY_STRING_BYTES + 1 - len("cursor="))
    response = api.get(f"/api/v1/consents?cursor={long}")
    assert str(MAX_QUERY_STRING_BYTES) in problem(response, 414, "uri-too-long")["detail"]
    # Exactly at the limit the request is read (and the made-up cursor refused).
    response = api.get(f"/api/v1/consents?cursor={long[:-1]}")
    assert fields(problem(response, 400, "invalid-parameter")) == ["cursor"]


def test_a_long_query_string_on_a_page_is_a_friendly_414(client: FlaskClient) -> None:
    response = client.get("/admin/login?next=" + "x" * MAX_QUERY_STRING_BYTES)
    assert response.status_code == 414
    assert response.mimetype == "text/html"
    assert "That address is too long" in response.text


def test_the_document_lists_the_answers_every_operation_can_give(client: FlaskClient) -> None:
    document = client.get("/api/openapi.json").get_json()
    for operations in document["paths"].values():
        for operation in operations.values():
            assert {"400", "414"} <= set(operation["responses"])
    assert "405" in document["info"]["description"]


def test_gunicorn_hands_long_query_strings_to_the_app(app: Flask, tmp_path: Path) -> None:
    # Gunicorn's own limit (4094 bytes for the request line) would answer an HTML 414.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = test_settings(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONRAMP_")}
    env.update(
        HOST="127.0.0.1",
        PORT=str(port),
        WEB_CONCURRENCY="1",
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        ONRAMP_SECRET_KEY=config["SECRET_KEY"],
        ONRAMP_TOKEN_ENCRYPTION_KEY=config["TOKEN_ENCRYPTION_KEY"],
        ONRAMP_SANDBOX_CLIENT_SECRET=config["SANDBOX_CLIENT_SECRET"],
        ONRAMP_PUBLIC_URL="http://localhost",
        ONRAMP_WEBHOOK_WORKER="false",
    )
    server = start_gunicorn(env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:  # a worker may take a while to start on a busy machine
            try:
                requests.get(f"{base}/healthz", timeout=60)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        response = requests.get(f"{base}/api/v1/journeys?q=" + "x" * 6000, timeout=60)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(60)
    assert response.status_code == 414
    assert response.headers["Content-Type"] == "application/problem+json"


# Deep JSON


@pytest.mark.parametrize(("opening", "closing"), [("[", "]"), ('{"a":', "}")])
def test_json_nested_8000_deep_is_a_400_problem(
    app: Flask, api: Api, opening: str, closing: str
) -> None:
    app.config["API_MAX_BODY_BYTES"] = 100_000
    raw = opening * 8000 + "1" + closing * 8000
    response = api.put(CUSTOMER, data=raw, content_type="application/json")
    body = problem(response, 400, "json-too-deep")
    assert str(MAX_JSON_DEPTH) in body["detail"]


def test_json_just_over_the_depth_limit_is_refused_and_at_it_validated(api: Api) -> None:
    def nested(depth: int) -> str:
        # The body object itself is the first level.
        return '{"name": ' + "[" * (depth - 1) + "1" + "]" * (depth - 1) + ', "email": "a@b.c"}'

    problem(
        api.put(CUSTOMER, data=nested(MAX_JSON_DEPTH + 1), content_type="application/json"),
        400,
        "json-too-deep",
    )
    at_limit = api.put(CUSTOMER, data=nested(MAX_JSON_DEPTH), content_type="application/json")
    assert "name" in fields(problem(at_limit, 422, "validation-error"))

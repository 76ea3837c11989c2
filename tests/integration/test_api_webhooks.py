"""Webhook endpoints managed through the API: the secret is shown once, bad URLs refused."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEntry
from app.webhooks.endpoints import signing_secrets
from app.webhooks.outbox import EVENT_TYPES
from tests.integration.api_helpers import Api, create_key, fields, problem

ENDPOINTS = "/api/v1/webhook-endpoints"
# Loopback receivers are allowed in development, the tests' environment.
RECEIVER = "http://127.0.0.1:9/onramp-events"


@pytest.fixture
def api(app: Flask, client: FlaskClient) -> Api:
    return Api(client, create_key(app, "read", "write"))


def test_an_endpoint_is_registered_listed_and_removed(app: Flask, api: Api) -> None:
    created = api.post(
        ENDPOINTS,
        json={"url": RECEIVER, "event_types": ["connection.linked"], "description": "CRM"},
    )
    assert created.status_code == 201
    endpoint = created.get_json()
    assert endpoint["secret"].startswith("whsec_")
    assert (endpoint["url"], endpoint["event_types"], endpoint["status"]) == (
        RECEIVER,
        ["connection.linked"],
        "enabled",
    )
    with app.app_context():
        from app.webhooks.endpoints import get_endpoint

        stored = get_endpoint(endpoint["id"])
        assert stored is not None
        assert signing_secrets(stored) == [endpoint["secret"]]
        assert endpoint["secret"] not in stored.secrets_ciphertext

    listed = api.get(ENDPOINTS)
    assert [e["id"] for e in listed.get_json()["data"]] == [endpoint["id"]]
    assert endpoint["secret"] not in listed.get_data(as_text=True)

    removed = api.delete(f"{ENDPOINTS}/{endpoint['id']}")
    assert removed.status_code == 204 and removed.get_data() == b""
    assert api.get(ENDPOINTS).get_json() == {"data": []}
    problem(api.delete(f"{ENDPOINTS}/{endpoint['id']}"), 404, "not-found")

    with app.app_context():
        actions = [
            (e.action, e.subject_id)
            for e in db.session.scalars(select(AuditEntry).order_by(AuditEntry.id))
            if e.subject_type == "webhook_endpoint"
        ]
        trail = str([(e.before, e.after) for e in db.session.scalars(select(AuditEntry))])
    assert actions == [
        ("webhook_endpoint.create", endpoint["id"]),
        ("webhook_endpoint.remove", endpoint["id"]),
    ]
    assert endpoint["secret"] not in trail


def test_no_event_types_means_every_type(api: Api) -> None:
    created = api.post(ENDPOINTS, json={"url": RECEIVER})
    assert created.status_code == 201
    assert created.get_json()["event_types"] == []


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"url": "http://10.0.0.7/hooks"}, "url"),
        ({"url": "http://169.254.169.254/latest"}, "url"),
        ({"url": "ftp://example.com/hooks"}, "url"),
        ({"url": RECEIVER, "event_types": ["consent.maybe"]}, "event_types.0"),
        ({"url": RECEIVER, "event_types": "consent.granted"}, "event_types"),
        ({"url": RECEIVER, "secret": "whsec_mine"}, "secret"),
        ({}, "url"),
    ],
)
def test_a_bad_endpoint_is_refused_naming_the_field(
    app: Flask, api: Api, body: dict[str, object], named: str
) -> None:
    response = api.post(ENDPOINTS, json=body)
    assert fields(problem(response, 422, "validation-error")) == [named]
    assert api.get(ENDPOINTS).get_json() == {"data": []}


def test_every_event_type_is_offered_in_the_document(client: FlaskClient) -> None:
    schemas = client.get("/api/openapi.json").get_json()["components"]["schemas"]
    items = schemas["WebhookEndpointRequest"]["properties"]["event_types"]["items"]
    assert items["enum"] == list(EVENT_TYPES)

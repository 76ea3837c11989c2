"""Incoming platform webhooks: a good signature updates the connection, a bad one nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.models import Connection, Customer

XERO_KEY = "xero-webhook-key-for-tests"
INTUIT_VERIFIER = "intuit-verifier-token-for-tests"


@pytest.fixture
def signed_app(app: Flask) -> Flask:
    app.config["WTF_CSRF_ENABLED"] = True  # webhooks must work without a CSRF token
    app.config["XERO_WEBHOOK_KEY"] = XERO_KEY
    app.config["QUICKBOOKS_WEBHOOK_VERIFIER"] = INTUIT_VERIFIER
    with app.app_context():
        customer = Customer(name="Acme", email="a@acme.example")
        db.session.add(customer)
        db.session.flush()
        for platform, org in (
            ("xero", "tenant-1"),
            ("quickbooks", "realm-9"),
            ("xero", "tenant-2"),
        ):
            db.session.add(
                Connection(customer_id=customer.id, platform=platform, status="linked", org_id=org)
            )
        db.session.commit()
    return app


def _sign(body: bytes, key: str) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def _noted(app: Flask) -> dict[str, bool]:
    with app.app_context():
        rows = db.session.scalars(select(Connection)).all()
        return {c.org_id or "": c.last_provider_event_at is not None for c in rows}


def test_a_signed_xero_event_updates_its_connection(signed_app: Flask, client: FlaskClient) -> None:
    body = json.dumps({"events": [{"tenantId": "tenant-1", "eventCategory": "INVOICE"}]}).encode()
    response = client.post(
        "/webhooks/platforms/xero", data=body, headers={"x-xero-signature": _sign(body, XERO_KEY)}
    )
    assert response.status_code == 200
    assert response.json == {"received": True, "connections": 1}
    assert _noted(signed_app) == {"tenant-1": True, "realm-9": False, "tenant-2": False}


def test_xeros_intent_to_receive_check_passes(signed_app: Flask, client: FlaskClient) -> None:
    body = json.dumps({"events": [], "firstEventSequence": 0, "entropy": "X"}).encode()
    good = client.post(
        "/webhooks/platforms/xero", data=body, headers={"x-xero-signature": _sign(body, XERO_KEY)}
    )
    bad = client.post(
        "/webhooks/platforms/xero", data=body, headers={"x-xero-signature": _sign(body, "wrong")}
    )
    assert (good.status_code, bad.status_code) == (200, 401)


def test_a_signed_intuit_event_updates_its_connection(
    signed_app: Flask, client: FlaskClient
) -> None:
    body = json.dumps({"eventNotifications": [{"realmId": "realm-9"}]}).encode()
    response = client.post(
        "/webhooks/platforms/quickbooks",
        data=body,
        headers={"intuit-signature": _sign(body, INTUIT_VERIFIER)},
    )
    assert response.status_code == 200
    assert _noted(signed_app)["realm-9"] is True


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-xero-signature": "not-base64"},
        {"x-xero-signature": "sïgnature"},
        {"x-xero-signature": _sign(b"other body", XERO_KEY)},
    ],
    ids=["missing", "garbage", "non-ascii", "for-another-body"],
)
def test_a_bad_signature_is_refused_and_changes_nothing(
    signed_app: Flask, client: FlaskClient, headers: dict[str, str]
) -> None:
    body = json.dumps({"events": [{"tenantId": "tenant-1"}]}).encode()
    response = client.post("/webhooks/platforms/xero", data=body, headers=headers)
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.json is not None and response.json["detail"] == "the signature does not match"
    assert not any(_noted(signed_app).values())


def test_a_signed_but_unreadable_body_is_a_400(signed_app: Flask, client: FlaskClient) -> None:
    body = b"not json"
    response = client.post(
        "/webhooks/platforms/xero", data=body, headers={"x-xero-signature": _sign(body, XERO_KEY)}
    )
    assert response.status_code == 400


def test_platforms_without_webhooks_or_keys_are_not_found(app: Flask, client: FlaskClient) -> None:
    assert client.post("/webhooks/platforms/xero", data=b"{}").status_code == 404  # no key set
    assert client.post("/webhooks/platforms/sage", data=b"{}").status_code == 404
    assert client.post("/webhooks/platforms/abacus", data=b"{}").status_code == 404

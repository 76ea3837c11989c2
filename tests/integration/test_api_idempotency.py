"""Idempotency-Key: a retried write replays the first answer and does nothing twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from app import clock
from app.extensions import db
from app.models import Customer, IdempotencyRecord, WebhookEndpoint
from tests.integration.api_helpers import Api, create_key, fields, problem

CUSTOMER = "/api/v1/customers/crm-7"
GOOD = {"name": "Acme Ltd", "email": "owner@acme.example"}


@pytest.fixture
def api(app: Flask, client: FlaskClient) -> Api:
    return Api(client, create_key(app, "read", "write"))


def _count(app: Flask, model: type) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


def test_a_retried_create_replays_the_first_answer(app: Flask, api: Api) -> None:
    first = api.put(CUSTOMER, json=GOOD, headers={"Idempotency-Key": "create-crm-7"})
    retry = api.put(CUSTOMER, json=GOOD, headers={"Idempotency-Key": "create-crm-7"})
    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.get_json() == first.get_json()
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert _count(app, Customer) == 1
    # Without the key, the same request is a new one: an update.
    assert api.put(CUSTOMER, json=GOOD).status_code == 200


def test_a_retried_link_is_the_same_link(api: Api) -> None:
    api.put(CUSTOMER, json=GOOD)
    headers = {"Idempotency-Key": "link-1"}
    first = api.post(CUSTOMER + "/links", json={"locale": "de"}, headers=headers)
    retry = api.post(CUSTOMER + "/links", json={"locale": "de"}, headers=headers)
    assert first.status_code == retry.status_code == 201
    assert first.get_json()["url"] == retry.get_json()["url"]


def test_a_retried_webhook_registration_registers_once(app: Flask, api: Api) -> None:
    body = {"url": "http://127.0.0.1:9/hooks", "event_types": ["consent.granted"]}
    headers = {"Idempotency-Key": "hook-1"}
    first = api.post("/api/v1/webhook-endpoints", json=body, headers=headers)
    retry = api.post("/api/v1/webhook-endpoints", json=body, headers=headers)
    assert first.status_code == retry.status_code == 201
    assert retry.get_json()["secret"] == first.get_json()["secret"]
    assert _count(app, WebhookEndpoint) == 1


def test_a_key_reused_for_another_request_is_refused(app: Flask, api: Api) -> None:
    api.put(CUSTOMER, json=GOOD, headers={"Idempotency-Key": "k"})
    other_body = api.put(CUSTOMER, json={**GOOD, "name": "Other"}, headers={"Idempotency-Key": "k"})
    assert fields(problem(other_body, 422, "idempotency-key-reused")) == ["Idempotency-Key"]
    other_path = api.put("/api/v1/customers/crm-8", json=GOOD, headers={"Idempotency-Key": "k"})
    problem(other_path, 422, "idempotency-key-reused")
    assert _count(app, Customer) == 1


def test_keys_belong_to_one_api_key(app: Flask, client: FlaskClient, api: Api) -> None:
    other = Api(client, create_key(app, "write", name="other"))
    api.put(CUSTOMER, json=GOOD, headers={"Idempotency-Key": "shared"})
    mine = other.put("/api/v1/customers/crm-9", json=GOOD, headers={"Idempotency-Key": "shared"})
    assert mine.status_code == 201 and "Idempotent-Replayed" not in mine.headers


def test_a_request_still_running_with_the_key_is_a_409(app: Flask, api: Api) -> None:
    first = api.put(CUSTOMER, json=GOOD, headers={"Idempotency-Key": "slow"})
    with app.app_context():
        # As if the first request were still being processed.
        db.session.execute(update(IdempotencyRecord).values(status_code=None, response_body=None))
        db.session.commit()
    running = api.put(CUSTOMER, json=GOOD, headers={"Idempotency-Key": "slow"})
    problem(running, 409, "idempotency-in-progress")
    assert running.headers["Retry-After"]
    assert first.status_code == 201


def test_a_request_that_died_frees_its_key_after_a_while(app: Flask, api: Api) -> None:
    api.put(CUSTOMER, json=GOOD, headers={"Idempotency-Key": "died"})
    with app.app_context():
        db.session.execute(
            update(IdempotencyRecord).values(
                status_code=None, created_at=clock.now() - timedelta(minutes=5)
            )
        )
        db.session.commit()
    retried = api.put(CUSTOMER, json=GOOD, headers={"Idempotency-Key": "died"})
    assert retried.status_code == 200 and "Idempotent-Replayed" not in retried.headers


def test_records_are_kept_for_24_hours(app: Flask, api: Api) -> None:
    api.put(CUSTOMER, json=GOOD, headers={"Idempotency-Key": "old"})
    with app.app_context():
        db.session.execute(
            update(IdempotencyRecord).values(created_at=clock.now() - timedelta(hours=25))
        )
        db.session.commit()
    later = api.put(CUSTOMER, json=GOOD, headers={"Idempotency-Key": "old"})
    assert later.status_code == 200 and "Idempotent-Replayed" not in later.headers
    assert _count(app, IdempotencyRecord) == 1


def test_a_conflict_is_replayed_too(app: Flask, api: Api) -> None:
    missing = "/api/v1/consents/00000000-0000-4000-8000-000000000000/withdraw"
    first = api.post(missing, headers={"Idempotency-Key": "w"})
    retry = api.post(missing, headers={"Idempotency-Key": "w"})
    problem(first, 404, "not-found")
    problem(retry, 404, "not-found")
    assert retry.headers["Idempotent-Replayed"] == "true"


def test_an_invalid_request_keeps_its_key_free(app: Flask, api: Api) -> None:
    invalid = api.put(CUSTOMER, json={"name": "Acme"}, headers={"Idempotency-Key": "fix"})
    problem(invalid, 422, "validation-error")
    fixed = api.put(CUSTOMER, json=GOOD, headers={"Idempotency-Key": "fix"})
    assert fixed.status_code == 201


@pytest.mark.parametrize("key", ["x" * 256, "caf\u00e9"])
def test_a_key_too_long_or_not_ascii_is_a_400(api: Api, key: str) -> None:
    response = api.put(CUSTOMER, json=GOOD, headers={"Idempotency-Key": key})
    assert fields(problem(response, 400, "invalid-parameter")) == ["Idempotency-Key"]


def test_a_255_character_key_is_fine(api: Api) -> None:
    assert api.put(CUSTOMER, json=GOOD, headers={"Idempotency-Key": "x" * 255}).status_code == 201

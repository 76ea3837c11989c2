"""The OAuth flow store: single-use state, in the database or in Redis."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from flask import Flask
from sqlalchemy import select

from app import clock, create_app
from app.connections import flows
from app.extensions import db
from app.models import Connection, Customer, JourneyRun, OAuthFlow
from tests.conftest import reset_database, test_settings

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture(params=["database", "redis"])
def store_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    settings = test_settings(tmp_path)
    if request.param == "redis":
        settings["REDIS_URL"] = REDIS_URL
        # A test that needs Redis fails loudly when it is missing, never skips.
        redis.Redis.from_url(REDIS_URL).ping()
    app = create_app(settings)
    reset_database(app)
    with app.app_context():
        yield app
        db.session.remove()
    with app.app_context():
        db.engine.dispose()


def _pending(state: str, ttl: timedelta = timedelta(minutes=10)) -> flows.PendingFlow:
    customer = Customer(name="Acme", email="a@acme.example")
    run = JourneyRun(
        customer=customer, journey_id="default", journey_version="v", current_step="connect"
    )
    db.session.add(run)
    db.session.flush()
    connection = Connection(customer_id=customer.id, run_id=run.id, platform="sandbox")
    db.session.add(connection)
    db.session.flush()
    flow = flows.PendingFlow(
        state=state,
        connection_id=connection.id,
        run_id=run.id,
        platform="sandbox",
        issuer="http://localhost/sandbox",
        redirect_uri="http://localhost/connect/sandbox/callback",
        code_verifier="v" * 64,
        expires_at=clock.now() + ttl,
    )
    flows.save_flow(flow)
    db.session.commit()
    return flow


def test_a_state_can_be_taken_once(store_app: Flask) -> None:
    saved = _pending(os.urandom(8).hex())
    first = flows.take_flow(saved.state)
    assert first.outcome is flows.Outcome.FRESH
    assert first.flow is not None
    assert first.flow.code_verifier == saved.code_verifier
    assert first.flow.run_id == saved.run_id
    second = flows.take_flow(saved.state)
    assert second.outcome is flows.Outcome.USED
    assert second.flow is not None and second.flow.connection_id == saved.connection_id


def test_an_unknown_state_is_unknown(store_app: Flask) -> None:
    assert flows.take_flow("never-issued").outcome is flows.Outcome.UNKNOWN


def test_an_expired_state_is_expired(store_app: Flask) -> None:
    saved = _pending(os.urandom(8).hex(), ttl=timedelta(seconds=-1))
    assert flows.take_flow(saved.state).outcome is flows.Outcome.EXPIRED


def test_neither_state_nor_verifier_is_kept_in_the_clear(store_app: Flask) -> None:
    saved = _pending(os.urandom(8).hex())
    if store_app.config.get("REDIS_URL"):
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter("onramp:oauth-flow:*"))
        stored = b"".join(keys) + b"".join(client.get(k) or b"" for k in keys)
    else:
        rows = db.session.execute(select(OAuthFlow.state_hash, OAuthFlow.code_verifier_ciphertext))
        stored = "".join(a + b for a, b in rows).encode()
    assert stored
    assert saved.state.encode() not in stored
    assert saved.code_verifier.encode() not in stored


def test_the_run_a_state_names_is_found_without_claiming_it(store_app: Flask) -> None:
    """A browser that did not start the sign-in is told nothing, and claims nothing."""
    saved = _pending(os.urandom(8).hex())
    assert flows.run_of(saved.state) == saved.run_id
    assert flows.take_flow(saved.state).outcome is flows.Outcome.FRESH
    assert flows.run_of(saved.state) == saved.run_id
    assert flows.run_of("never-issued") is None

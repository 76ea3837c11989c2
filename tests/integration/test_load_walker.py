"""The load test's customer (bench/load/walker.py) still walks the whole journey.

One customer, over real HTTP, against the app served with its Sandbox mounted and CSRF
on, as gunicorn serves it in the load test: if a step's form or address changes, this
fails here rather than in the next load test.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import select

from app import create_app
from app.extensions import db
from app.models import Connection, ConsentRecord, Customer, JourneyRun
from bench.load.walker import Answer, JourneyWalker
from tests.conftest import reset_database, test_settings
from tests.integration.api_helpers import create_key
from tests.serving import loopback_port, serving


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Flask, str]]:
    with loopback_port() as port:
        app = create_app(test_settings(tmp_path, PUBLIC_URL=port.url, WTF_CSRF_ENABLED=True))
        reset_database(app)
        with serving(app, port):
            yield app, port.url
    with app.app_context():
        db.engine.dispose()


def test_one_customer_walks_the_whole_journey_and_their_decisions_are_recorded(
    served: tuple[Flask, str],
) -> None:
    app, url = served
    browser = requests.Session()
    asked: list[tuple[str, str, int]] = []

    def send(
        method: str, address: str, *, name: str, expect: int, leads_to: str, **kwargs: Any
    ) -> Answer:
        answer = browser.request(method, address, allow_redirects=False, timeout=30, **kwargs)
        asked.append((method, name, answer.status_code))
        return answer

    walker = JourneyWalker(url, create_key(app, "write"), send, rng=random.Random(4))
    walker.walk()

    assert walker.completed
    assert ("GET", "step: done", 200) in asked
    assert ("POST", "sandbox: approve", 302) in asked
    with app.app_context():
        customer = db.session.scalars(
            select(Customer).where(Customer.external_id == walker.external_id)
        ).one()
        run = db.session.scalars(select(JourneyRun).where(JourneyRun.customer_id == customer.id))
        assert [r.status for r in run] == ["completed"]
        connection = db.session.scalars(
            select(Connection).where(Connection.customer_id == customer.id)
        ).one()
        assert connection.status == "linked"
        decisions = list(
            db.session.scalars(
                select(ConsentRecord.decision).where(
                    ConsentRecord.customer_id == customer.id,
                    ConsentRecord.decision.in_(["granted", "declined"]),
                )
            )
        )
    assert walker.decisions is not None
    assert decisions.count("granted") == walker.decisions.granted >= 2
    assert decisions.count("declined") == walker.decisions.declined

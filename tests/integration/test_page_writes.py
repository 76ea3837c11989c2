"""A plain GET of a page the customer is on writes nothing: what it notes, it notes once."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event

from app.extensions import db
from tests.integration.conftest import REQUIRED_CONSENTS

WRITES = ("INSERT", "UPDATE", "DELETE")


@contextmanager
def writes_to_the_database(app: Flask) -> Iterator[list[str]]:
    """Every INSERT, UPDATE or DELETE the app sends while the block runs."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith(WRITES):
            seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


@pytest.mark.parametrize(
    ("answered", "page"),
    [
        ([], "/journey/welcome"),
        ([("/journey/welcome", {})], "/journey/consent"),
        ([("/journey/welcome", {}), ("/journey/consent", REQUIRED_CONSENTS)], "/journey/software"),
    ],
)
def test_a_step_page_asked_again_writes_nothing(
    app: Flask,
    customer_client: FlaskClient,
    answered: list[tuple[str, dict[str, str]]],
    page: str,
) -> None:
    for path, data in answered:
        customer_client.post(path, data=data)
    # The first visit notes that the customer entered the step.
    with writes_to_the_database(app) as first:
        assert customer_client.get(page).status_code == 200
    assert any("journey_events" in statement for statement in first)
    with writes_to_the_database(app) as again:
        assert customer_client.get(page).status_code == 200
    assert again == []


def test_the_customer_page_asked_again_writes_nothing(
    app: Flask, customer_client: FlaskClient
) -> None:
    assert customer_client.get("/my").status_code == 200
    with writes_to_the_database(app) as again:
        assert customer_client.get("/my").status_code == 200
    assert again == []

"""A date range lists every record recorded in it, page after page, in the console and the
API alike, even when the order of the records' times disagrees with the order they were
appended in (an app process whose clock runs behind writes an earlier time later)."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.admin.keyset import PAGE_SIZE
from app.extensions import db
from app.models import Customer, JourneyRun
from tests.admin import signed_in_as
from tests.consent_records import chained
from tests.integration.api_helpers import Api, create_key

FEBRUARY = datetime(2025, 2, 1, tzinfo=UTC)
TEXT = "Financial statements\nWhy: lending"


@pytest.fixture
def ledger(app: Flask) -> dict[str, list[Any]]:
    """Records in January, February and March, appended interleaved; the public ids and
    the times of the February ones, in the order they were appended."""
    with app.app_context():
        customer = Customer(name="Acme Ltd", email="owner@acme.example", external_id="CRM-1")
        db.session.add(customer)
        db.session.flush()
        run = JourneyRun(
            customer_id=customer.id,
            journey_id="default",
            journey_version="c" * 64,
            current_step="consent",
        )
        db.session.add(run)
        db.session.flush()
        february, times_in_february = [], []
        # Appended in this order: Jan, Feb, Mar, Jan, Feb, Mar, ... then a late February one.
        times = [
            FEBRUARY + timedelta(days=30 * (i % 3 - 1), minutes=i) for i in range(3 * PAGE_SIZE)
        ]
        times.append(FEBRUARY + timedelta(hours=1))
        for when in times:
            record = chained(
                customer_id=run.customer_id,
                run_id=run.id,
                journey_id="default",
                journey_version="c" * 64,
                item_key="financial_statements",
                decision="granted",
                locale="en",
                text=TEXT,
                text_sha256=hashlib.sha256(TEXT.encode()).hexdigest(),
                recorded_at=when,
            )
            if when.month == 2:
                february.append(record.public_id)
                times_in_february.append(when)
        db.session.commit()
        return {"february": february, "times": times_in_february}


def _console_times(viewer: FlaskClient, query: dict[str, str]) -> list[datetime]:
    """When each record the console lists was recorded, following "older" to the last page."""
    shown: list[datetime] = []
    url = "/admin/consents"
    params: dict[str, Any] | None = query
    while True:
        page = viewer.get(url, query_string=params)
        assert page.status_code == 200
        listed = re.findall(r'<tr>\s*<td><time datetime="([^"]+)"', page.text)
        shown += [datetime.fromisoformat(when) for when in listed]
        older = re.search(r'href="([^"]+)" rel="next"', page.text)
        if older is None:
            return shown
        url, params = unescape(older.group(1)), None


def test_the_console_lists_every_record_of_a_date_range_newest_first(
    app: Flask, ledger: dict[str, list[Any]]
) -> None:
    viewer = signed_in_as(app, "viewer")
    shown = _console_times(viewer, {"date_from": "2025-02-01", "date_to": "2025-02-28"})
    assert shown == ledger["times"][::-1]


def test_the_console_lists_nothing_for_a_range_without_records(
    app: Flask, ledger: dict[str, list[Any]]
) -> None:
    viewer = signed_in_as(app, "viewer")
    assert _console_times(viewer, {"date_from": "2024-06-01", "date_to": "2024-06-30"}) == []


def test_the_api_lists_every_record_of_a_range_oldest_first_across_pages(
    app: Flask, client: FlaskClient, ledger: dict[str, list[Any]]
) -> None:
    api = Api(client, create_key(app, "read"))
    listed: list[str] = []
    query = {"since": "2025-02-01T00:00:00Z", "until": "2025-03-01T00:00:00Z", "limit": "20"}
    while True:
        response = api.get("/api/v1/consents", query_string=query)
        assert response.status_code == 200
        body = response.json
        assert body is not None
        listed += [consent["id"] for consent in body["data"]]
        if body["next_cursor"] is None:
            break
        query = {**query, "cursor": body["next_cursor"]}
    assert listed == ledger["february"]
    empty = api.get("/api/v1/consents", query_string={"until": "2024-01-01T00:00:00Z"})
    assert empty.json == {"data": [], "next_cursor": None}

"""Admin console, consents: the ledger filtered and paged, and its streamed exports."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from datetime import UTC, datetime
from html import unescape
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.admin.keyset import PAGE_SIZE
from app.consent import chain
from app.consent.export import COLUMNS, LedgerFilter, export_records
from app.extensions import db
from app.models import AuditEntry, ConsentRecord, Customer, JourneyRun
from tests.admin import signed_in_as
from tests.consent_records import chained

VERSION = "c" * 64


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _record(run: JourneyRun, **values: Any) -> ConsentRecord:
    text = values.pop("text", "Financial statements\nWhy: lending")
    fields: dict[str, Any] = {
        "customer_id": run.customer_id,
        "run_id": run.id,
        "journey_id": "default",
        "journey_version": VERSION,
        "item_key": "financial_statements",
        "decision": "granted",
        "locale": "en",
        "text": text,
        "text_sha256": hashlib.sha256(text.encode()).hexdigest(),
        "recorded_at": _at("2025-01-02T10:00:00"),
    }
    fields.update(values)
    return chained(**fields)


def _run(external_id: str | None, name: str = "Acme Ltd") -> JourneyRun:
    customer = Customer(name=name, email="owner@acme.example", external_id=external_id)
    db.session.add(customer)
    db.session.flush()
    run = JourneyRun(
        customer_id=customer.id,
        journey_id="default",
        journey_version=VERSION,
        current_step="consent",
    )
    db.session.add(run)
    db.session.flush()
    return run


@pytest.fixture
def ledger(app: Flask) -> dict[str, str]:
    """Five records across journeys, items, decisions and days; their public ids by name."""
    with app.app_context():
        acme = _run("CRM-1")
        risky = _run("+44 20 7946 0000", "=Risky Ltd")
        records = {
            "late_jan_1": _record(acme, recorded_at=_at("2025-01-01T23:59:59")),
            "jan_2": _record(acme, recorded_at=_at("2025-01-02T00:00:00"), decision="declined"),
            "invoices": _record(
                acme, item_key="invoices_bills", recorded_at=_at("2025-01-02T12:00:00")
            ),
            "business": _record(
                risky,
                journey_id="business",
                item_key="accounts",
                text='=HYPERLINK("https://evil.example")\n@SUM(A1)',
                recorded_at=_at("2025-01-03T08:00:00"),
            ),
            "withdrawn": _record(
                acme, decision="withdrawn", recorded_at=_at("2025-01-04T09:30:00")
            ),
        }
        db.session.add_all(records.values())
        db.session.commit()
        return {name: record.public_id for name, record in records.items()}


def _shown(html: str) -> list[str]:
    """When each record a page lists was recorded, in the page's order."""
    return re.findall(r'<tr>\s*<td><time datetime="([^"]+)"', html)


@pytest.fixture
def viewer(app: Flask) -> FlaskClient:
    return signed_in_as(app, "viewer")


def _times(app: Flask, ledger: dict[str, str], names: list[str]) -> list[str]:
    with app.app_context():
        by_id = {
            r.public_id: r.recorded_at.isoformat()
            for r in db.session.scalars(select(ConsentRecord))
        }
    return [by_id[ledger[name]] for name in names]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["withdrawn", "business", "invoices", "jan_2", "late_jan_1"]),
        ({"journey": "business"}, ["business"]),
        ({"item": "invoices_bills"}, ["invoices"]),
        ({"decision": "declined"}, ["jan_2"]),
        ({"decision": "granted", "journey": "default"}, ["invoices", "late_jan_1"]),
        ({"date_from": "2025-01-02", "date_to": "2025-01-02"}, ["invoices", "jan_2"]),
        ({"date_from": "2025-01-03"}, ["withdrawn", "business"]),
        ({"date_to": "2025-01-01"}, ["late_jan_1"]),
        ({"item": "marketing"}, []),
    ],
)
def test_the_ledger_is_filtered_by_journey_item_decision_and_dates(
    app: Flask,
    viewer: FlaskClient,
    ledger: dict[str, str],
    query: dict[str, str],
    expected: list[str],
) -> None:
    response = viewer.get("/admin/consents", query_string=query)
    assert response.status_code == 200
    assert _shown(response.text) == _times(app, ledger, expected)
    if not expected:
        assert "No consent record matches these filters." in response.text


def test_the_ledger_shows_the_exact_text_and_links_to_the_customer(
    viewer: FlaskClient, ledger: dict[str, str]
) -> None:
    response = viewer.get("/admin/consents", query_string={"journey": "business"})
    text = unescape(response.text)
    assert '=HYPERLINK("https://evil.example")\n@SUM(A1)' in text
    assert "+44 20 7946 0000" in text
    assert re.search(r'<a href="/admin/customers/[0-9a-f-]{36}">=Risky Ltd</a>', text)


def test_the_console_shows_the_chain_head_and_the_last_checkpoint(
    app: Flask, viewer: FlaskClient, ledger: dict[str, str]
) -> None:
    with app.app_context():
        head = chain.head()
    text = viewer.get("/admin/consents").text
    assert "Ledger chain head" in text
    assert f"<dt>Records in the chain</dt><dd>{head.sequence}</dd>" in text
    assert head.hash in text
    assert "Last signed checkpoint</dt>\n    <dd>None yet</dd>" in text

    assert app.test_cli_runner().invoke(args=["consents", "checkpoint"]).exit_code == 0
    text = viewer.get("/admin/consents").text
    assert f"<dd>Record {head.sequence}, <time" in text


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"decision": "maybe"}, "Choose one of the decisions listed."),
        ({"journey": "nope"}, "Choose one of the journeys listed."),
        ({"item": "Not A Key!"}, "A consent item key starts with a lower-case letter"),
        ({"date_from": "2025-13-01"}, "Enter the date as YYYY-MM-DD"),
        ({"date_from": "2025-01-03", "date_to": "2025-01-02"}, "on or after the start date"),
        ({"before": "first"}, "That page link is not one this list made"),
    ],
)
def test_bad_filters_are_explained_with_400(
    viewer: FlaskClient, ledger: dict[str, str], query: dict[str, str], message: str
) -> None:
    response = viewer.get("/admin/consents", query_string=query)
    assert response.status_code == 400
    assert message in unescape(response.text)
    exported = viewer.get("/admin/consents/export.csv", query_string=query)
    assert exported.status_code == 400
    assert "consent_id" not in exported.text


def test_the_ledger_is_paged_by_keyset_and_keeps_the_filters(
    app: Flask, viewer: FlaskClient
) -> None:
    with app.app_context():
        run = _run("CRM-9")
        db.session.add_all(
            _record(run, decision="declined" if i % 2 else "granted")
            for i in range(2 * PAGE_SIZE + 10)
        )
        db.session.commit()
    first = viewer.get("/admin/consents", query_string={"decision": "granted"})
    assert first.text.count('class="tag tag--granted"') == PAGE_SIZE
    older = re.search(r'href="([^"]+)" rel="next"', first.text)
    assert older is not None
    assert "decision=granted" in older.group(1)
    second = viewer.get(unescape(older.group(1)))
    assert second.text.count('class="tag tag--granted"') == 5
    assert "tag--declined" not in second.text
    assert 'rel="next"' not in second.text


def _csv(response: Any) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_the_csv_export_streams_every_matching_record_with_its_evidence(
    app: Flask, viewer: FlaskClient, ledger: dict[str, str]
) -> None:
    response = viewer.get("/admin/consents/export.csv", query_string={"journey": "default"})
    assert response.status_code == 200
    assert response.is_streamed
    assert response.mimetype == "text/csv"
    assert re.fullmatch(
        r'attachment; filename="consents-\d{8}T\d{6}Z\.csv"',
        response.headers["Content-Disposition"],
    )
    assert response.headers["Cache-Control"] == "no-store"
    rows = _csv(response)
    assert response.get_data(as_text=True).startswith(",".join(COLUMNS) + "\r\n")
    assert [row["consent_id"] for row in rows] == [
        ledger[name] for name in ["late_jan_1", "jan_2", "invoices", "withdrawn"]
    ]
    first = rows[0]
    with app.app_context():
        customer = db.session.scalars(select(Customer).where(Customer.external_id == "CRM-1")).one()
        assert first["customer_id"] == customer.public_id
    assert first == first | {
        "recorded_at": "2025-01-01T23:59:59+00:00",
        "decision": "granted",
        "item": "financial_statements",
        "required": "false",
        "journey_id": "default",
        "journey_version": VERSION,
        "locale": "en",
        "customer_external_id": "CRM-1",
        "text": "Financial statements\nWhy: lending",
        "text_sha256": hashlib.sha256(b"Financial statements\nWhy: lending").hexdigest(),
    }


def test_csv_cells_a_spreadsheet_would_run_as_formulas_are_defused(
    viewer: FlaskClient, ledger: dict[str, str]
) -> None:
    response = viewer.get("/admin/consents/export.csv", query_string={"journey": "business"})
    [row] = _csv(response)
    assert row["text"] == '\'=HYPERLINK("https://evil.example")\n@SUM(A1)'
    assert row["customer_external_id"] == "'+44 20 7946 0000"
    # The hash is of the exact text, which the JSON export carries unchanged.
    assert row["text_sha256"] == hashlib.sha256(row["text"][1:].encode()).hexdigest()


def test_the_json_lines_export_carries_exact_values(
    viewer: FlaskClient, ledger: dict[str, str]
) -> None:
    response = viewer.get("/admin/consents/export.jsonl", query_string={"date_from": "2025-01-03"})
    assert response.status_code == 200
    assert response.is_streamed
    assert response.mimetype == "application/x-ndjson"
    assert response.headers["Content-Disposition"].endswith('.jsonl"')
    lines = response.get_data(as_text=True).splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["consent_id"] for r in records] == [ledger["business"], ledger["withdrawn"]]
    business = records[0]
    assert list(business) == list(COLUMNS)
    assert business["text"] == '=HYPERLINK("https://evil.example")\n@SUM(A1)'
    assert business["text_sha256"] == hashlib.sha256(business["text"].encode()).hexdigest()
    assert business["customer_external_id"] == "+44 20 7946 0000"
    assert business["required"] is False
    assert records[1]["decision"] == "withdrawn"


def test_an_export_of_nothing_is_just_the_header(viewer: FlaskClient) -> None:
    csv_export = viewer.get("/admin/consents/export.csv")
    assert csv_export.get_data(as_text=True) == ",".join(COLUMNS) + "\r\n"
    assert viewer.get("/admin/consents/export.jsonl").get_data() == b""


def test_each_export_is_audited_with_its_filters(
    app: Flask, viewer: FlaskClient, ledger: dict[str, str]
) -> None:
    response = viewer.get(
        "/admin/consents/export.jsonl", query_string={"decision": "granted", "item": ""}
    )
    response.close()
    with app.app_context():
        entry = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "consents.export")
        ).one()
        assert (entry.actor_id, entry.after) == (
            "viewer@example.com",
            {"format": "jsonl", "filters": {"decision": "granted"}},
        )


def test_the_export_reads_in_batches_and_yields_each_record_once_in_order(
    app: Flask, ledger: dict[str, str]
) -> None:
    with app.app_context():
        ids = [r["consent_id"] for r in export_records(LedgerFilter(), batch_size=2)]
        assert ids == [
            ledger[name] for name in ["late_jan_1", "jan_2", "invoices", "business", "withdrawn"]
        ]
        # The session keeps no record between batches: memory does not grow with the export.
        assert list(db.session.identity_map.values()) == []

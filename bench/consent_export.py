"""Does the consent export stay flat in memory however many records there are?

Seeds consent records in bulk into a fresh SQLite database, then streams the
admin console's CSV and JSON Lines exports through the Flask test client,
consuming the response chunk by chunk as a browser would, at 10,000 and at
100,000 records. For each it prints throughput, the peak of Python allocations
during the export (tracemalloc, a second pass: tracing slows things down) and
how far the process's resident memory grew. For contrast it also measures
holding every row in a list, which is what a non-streaming export would do.
Run: `make bench` or `.venv/bin/python bench/consent_export.py [records ...]`.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, insert, select

from app import create_app
from app.admin.accounts import create_user
from app.consent import chain
from app.consent.export import LedgerFilter, export_records
from app.extensions import db
from app.models import ConsentChainHead, ConsentRecord, Customer, JourneyRun
from tests.consent_records import DEFAULTS

CUSTOMERS = 1_000
PASSWORD = "benchmark-password-1"
VERSION = hashlib.sha256(b"bench").hexdigest()
ITEMS = ("financial_statements", "invoices_bills", "ongoing_monitoring")
DECISIONS = ("granted", "granted", "granted", "declined", "withdrawn")
TEXT = (
    "Financial statements\n"
    "Why: to assess your application for lending and to monitor the facility\n"
    "How long we keep it: 7 years after the facility ends, as the law requires\n"
    "Who receives it: Northwind Lending and its credit reference agency\n"
    "Required"
)
FORMATS = ("csv", "jsonl")
MiB = 1024 * 1024


def rss() -> int:
    """Resident memory of this process, in bytes (Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def seed_customers(app: Flask) -> list[tuple[int, int]]:
    """One customer and one run each; their (customer id, run id)."""
    with app.app_context():
        db.session.execute(
            insert(Customer),
            [
                {
                    "public_id": str(uuid.uuid4()),
                    "name": f"Customer {i}",
                    "email": f"c{i}@example.com",
                    "external_id": f"CRM-{i:06}",
                }
                for i in range(CUSTOMERS)
            ],
        )
        customer_ids = list(db.session.scalars(select(Customer.id).order_by(Customer.id)))
        db.session.execute(
            insert(JourneyRun),
            [
                {
                    "public_id": str(uuid.uuid4()),
                    "customer_id": cid,
                    "journey_id": "default",
                    "journey_version": VERSION,
                    "current_step": "done",
                    "status": "completed",
                }
                for cid in customer_ids
            ],
        )
        runs = db.session.execute(
            select(JourneyRun.customer_id, JourneyRun.id).order_by(JourneyRun.id)
        ).all()
        db.session.commit()
        return [(row[0], row[1]) for row in runs]


def seed_records(app: Flask, runs: list[tuple[int, int]], start: int, stop: int) -> None:
    """Consent records number ``start`` to ``stop`` (exclusive), inserted 10,000 at a time,
    each chained to the one before as the ledger does."""
    digest = hashlib.sha256(TEXT.encode()).hexdigest()
    first_day = datetime(2025, 1, 1, tzinfo=UTC)
    with app.app_context():
        prev = chain.head().hash
        for chunk in range(start, stop, 10_000):
            rows = []
            for i in range(chunk, min(chunk + 10_000, stop)):
                customer_id, run_id = runs[i % len(runs)]
                row = {
                    **DEFAULTS,
                    "sequence": i + 1,
                    "public_id": str(uuid.uuid4()),
                    "customer_id": customer_id,
                    "run_id": run_id,
                    "journey_id": "default",
                    "journey_version": VERSION,
                    "item_key": ITEMS[i % len(ITEMS)],
                    "text": TEXT,
                    "text_sha256": digest,
                    "decision": DECISIONS[i % len(DECISIONS)],
                    "required": True,
                    "recorded_at": first_day + timedelta(seconds=i * 30),
                    "locale": "en",
                }
                row["prev_hash"] = prev
                row["record_hash"] = prev = chain.compute_hash(ConsentRecord(**row), prev)
                rows.append(row)
            db.session.execute(insert(ConsentRecord), rows)
            last = min(chunk + 10_000, stop)
            db.session.merge(ConsentChainHead(id=chain.HEAD_ID, sequence=last, hash=prev))
            db.session.commit()


def signed_in_client(app: Flask) -> FlaskClient:
    with app.app_context():
        create_user("bench@example.com", "viewer", PASSWORD)
        db.session.commit()
    client = app.test_client()
    response = client.post(
        "/admin/login", data={"email": "bench@example.com", "password": PASSWORD}
    )
    if response.status_code != 303:
        raise SystemExit(f"could not sign in: HTTP {response.status_code}")
    return client


def stream(client: FlaskClient, fmt: str, on_chunk: Callable[[], None]) -> tuple[int, int]:
    """Download one export chunk by chunk, keeping nothing; (bytes, lines) received."""
    response = client.get(f"/admin/consents/export.{fmt}")
    if response.status_code != 200 or not response.is_streamed:
        raise SystemExit(f"{fmt} export: HTTP {response.status_code}, streamed: no")
    size = lines = 0
    try:
        for chunk in response.response:
            size += len(chunk)
            lines += chunk.count(b"\n")
            on_chunk()
    finally:
        response.close()
    return size, lines


def measure(client: FlaskClient, fmt: str) -> dict[str, float]:
    # Pass 1: speed and resident memory, sampled at every chunk.
    baseline = rss()
    highest = baseline

    def sample() -> None:
        nonlocal highest
        highest = max(highest, rss())

    started = time.perf_counter()
    size, lines = stream(client, fmt, sample)
    seconds = time.perf_counter() - started
    # Pass 2: the peak of Python allocations while exporting.
    tracemalloc.start()
    tracemalloc.reset_peak()
    stream(client, fmt, lambda: None)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "lines": lines,
        "mib": size / MiB,
        "seconds": seconds,
        "peak": peak / MiB,
        "rss": (highest - baseline) / MiB,
    }


def all_in_a_list(app: Flask) -> float:
    """What holding every exported row at once would take (tracemalloc peak, MiB)."""
    with app.app_context():
        tracemalloc.start()
        rows = list(export_records(LedgerFilter(), batch_size=1_000_000_000))
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        del rows
    return peak / MiB


def main(sizes: list[int]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench.db",
                "WTF_CSRF_ENABLED": False,
                "PUBLIC_URL": "http://localhost",
                "ADMIN_LOGIN_RATE_LIMIT": "1000 per minute",
            }
        )
        with app.app_context():
            db.create_all()
        runs = seed_customers(app)
        client = signed_in_client(app)
        print("Consent export, streamed through the test client (SQLite, one process)")
        print(
            f"{'records':>8} {'format':<6} {'MiB out':>8} {'seconds':>8} {'records/s':>10}"
            f" {'py peak MiB':>12} {'RSS growth MiB':>15}"
        )
        seeded = 0
        for size in sorted(sizes):
            started = time.perf_counter()
            seed_records(app, runs, seeded, size)
            seeded = size
            with app.app_context():
                count = db.session.scalar(select(func.count()).select_from(ConsentRecord))
            seed_seconds = time.perf_counter() - started
            results: list[dict[str, Any]] = []
            for fmt in FORMATS:
                figures = measure(client, fmt)
                expected = count + (1 if fmt == "csv" else 0)  # the CSV header
                if figures["lines"] < expected:
                    raise SystemExit(f"{fmt}: {figures['lines']} lines for {count} records")
                results.append({"format": fmt, **figures})
            for r in results:
                print(
                    f"{count:>8,} {r['format']:<6} {r['mib']:>8.1f} {r['seconds']:>8.2f}"
                    f" {count / r['seconds']:>10,.0f} {r['peak']:>12.2f} {r['rss']:>15.1f}"
                )
            print(
                f"{'':>8} (seeded in {seed_seconds:.1f} s; for contrast, every row held in a"
                f" list: {all_in_a_list(app):.1f} MiB)"
            )
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [10_000, 100_000])

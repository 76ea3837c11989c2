"""A million consents on PostgreSQL: the console's ledger, the API's list, verify, export.

Seeds MILLION records (default 1,000,000; bench/million/seed.py) into the database
MILLION_DATABASE_URL names (emptied first), then measures, in this one process through
the Flask test client:

- the console's ledger page: the first page, a page in the middle (keyset ``before``),
  filtered views (a decision; an item within a month);
- the API's consent list: the first page, next pages (``next_cursor`` from the middle),
  filters (a decision; one customer; a month);
- ``flask consents verify``: the whole chain, then incrementally from a signed checkpoint
  after 1,000 more records are appended as the ledger appends them;
- the CSV and JSON Lines exports of the whole ledger: throughput, and how far the
  process's resident memory grew while streaming them.

Each page is asked for REQUESTS times after a few unmeasured ones; p50 and p95 are printed.
Run: `make bench-million` (MILLION=100000 for a shorter run), or
`.venv/bin/python bench/million/run.py [--reuse] [--pages-only]`: --reuse keeps a database already
seeded with MILLION records (and appends nothing when it has more).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app import clock
from app.admin.accounts import create_user
from app.api.keys import create_key
from app.api.pagination import encode_cursor
from app.consent import chain
from app.extensions import db
from app.models import ConsentRecord, Customer
from bench.consent_export import rss
from bench.million.seed import bench_app, database_url, fresh_schema, seed
from tests.consent_records import chained

REQUESTS = int(os.environ.get("MILLION_REQUESTS", "50"))
WARM_UP = 3
APPENDED = 1_000
PASSWORD = "benchmark-password-1"
MiB = 1024 * 1024


def timed(ask: Callable[[], int]) -> tuple[float, float]:
    """p50 and p95 of ``ask`` in milliseconds; it returns the HTTP status, which must be 200."""
    for _ in range(WARM_UP):
        ask()
    samples = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        status = ask()
        samples.append((time.perf_counter() - started) * 1000)
        if status != 200:
            raise SystemExit(f"HTTP {status}")
    cuts = statistics.quantiles(samples, n=100)
    return cuts[49], cuts[94]


def signed_in(app: Flask) -> FlaskClient:
    email = f"million-{uuid.uuid4().hex[:8]}@example.com"  # a new one each run (--reuse)
    with app.app_context():
        create_user(email, "viewer", PASSWORD)
        db.session.commit()
    client = app.test_client()
    response = client.post("/admin/login", data={"email": email, "password": PASSWORD})
    if response.status_code != 303:
        raise SystemExit(f"could not sign in: HTTP {response.status_code}")
    return client


def pages(app: Flask, client: FlaskClient, total: int) -> list[tuple[str, float, float]]:
    with app.app_context():
        middle = db.session.scalar(
            select(ConsentRecord.id).where(ConsentRecord.sequence == total // 2)
        )
        customer = db.session.scalar(
            select(Customer.external_id).where(Customer.id == (total // 10 or 1))
        )
        month_end = clock.now() - timedelta(days=365)
        month_start = month_end - timedelta(days=30)
        cursor = encode_cursor("consents", middle or 0)
        key = create_key("million bench", ["read"])[1]
    api = {"Authorization": f"Bearer {key}"}
    # One walk through next pages: each request follows the cursor the previous one gave.
    walk = {"cursor": cursor}

    def next_page() -> int:
        response = client.get(f"/api/v1/consents?limit=50&cursor={walk['cursor']}", headers=api)
        walk["cursor"] = response.json["next_cursor"] if response.status_code == 200 else cursor
        return response.status_code

    def get(url: str, headers: dict[str, str] | None = None) -> Callable[[], int]:
        return lambda: client.get(url, headers=headers or {}).status_code

    since = month_start.isoformat().replace("+00:00", "Z")
    until = month_end.isoformat().replace("+00:00", "Z")
    asked = [
        ("console: ledger, first page", get("/admin/consents")),
        ("console: ledger, middle page", get(f"/admin/consents?before={middle}")),
        ("console: ledger, withdrawn only", get("/admin/consents?decision=withdrawn")),
        (
            "console: ledger, one item in a month",
            get(
                "/admin/consents?item=ongoing_monitoring"
                f"&date_from={month_start.date()}&date_to={month_end.date()}"
            ),
        ),
        ("API: consents, first page", get("/api/v1/consents?limit=50", api)),
        ("API: consents, next pages", next_page),
        ("API: consents, withdrawn only", get("/api/v1/consents?limit=50&decision=withdrawn", api)),
        ("API: consents, one customer", get(f"/api/v1/consents?customer={customer}", api)),
        (
            "API: consents, a month",
            get(f"/api/v1/consents?limit=50&since={since}&until={until}", api),
        ),
    ]
    return [(name, *timed(ask)) for name, ask in asked]


def verify(app: Flask) -> list[tuple[str, float, str]]:
    """Full and incremental ``flask consents verify``: (what, seconds, its output)."""
    runner = app.test_cli_runner()
    figures = []
    started = time.perf_counter()
    result = runner.invoke(args=["consents", "verify"])
    figures.append(("verify, every record", time.perf_counter() - started, result.output))
    runner.invoke(args=["consents", "checkpoint"])
    with app.app_context():
        # Appended as the ledger appends: locked, hashed onto the head, committed.
        latest = db.session.scalars(
            select(ConsentRecord).order_by(ConsentRecord.sequence.desc()).limit(1)
        ).one()
        fields = {
            name: getattr(latest, name)
            for name in chain.CHAINED_FIELDS
            if name not in {"sequence", "public_id", "recorded_at"}
        }
        for _ in range(APPENDED):
            chained(**fields)
        db.session.commit()
    started = time.perf_counter()
    result = runner.invoke(args=["consents", "verify", "--incremental"])
    figures.append(
        (
            f"verify --incremental (+{APPENDED:,})",
            time.perf_counter() - started,
            result.output,
        )
    )
    return figures


def export(client: FlaskClient, fmt: str) -> tuple[float, float, float]:
    """(MiB sent, seconds, RSS growth MiB) of one streamed export, read chunk by chunk."""
    baseline = highest = rss()
    size = 0
    started = time.perf_counter()
    response = client.get(f"/admin/consents/export.{fmt}")
    if response.status_code != 200 or not response.is_streamed:
        raise SystemExit(f"{fmt} export: HTTP {response.status_code}")
    try:
        for chunk in response.response:
            size += len(chunk)
            highest = max(highest, rss())
    finally:
        response.close()
    return size / MiB, time.perf_counter() - started, (highest - baseline) / MiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    parser.add_argument("--pages-only", action="store_true", help="time the pages, nothing else")
    arguments = parser.parse_args()
    reuse = arguments.reuse
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # figures as they come
    total = int(os.environ.get("MILLION", "1000000"))
    app = bench_app(database_url())
    with app.app_context():
        seeded = db.session.scalar(select(func.max(ConsentRecord.sequence))) if reuse else None
    if seeded is None or seeded < total:
        fresh_schema(app)
        timings = seed(app, total)
        print(
            f"Seeded {total:,} consent records in {sum(timings.values()):.0f} s "
            f"(customers and runs {timings['customers']:.0f} s, records {timings['records']:.0f} s,"
            f" vacuum and analyze {timings['analyze']:.0f} s)"
        )
    client = signed_in(app)
    print(f"\nA million consents: {total:,} records on PostgreSQL, Flask test client, one process")
    print(f"{'page':<40} {'p50 ms':>8} {'p95 ms':>8}   ({REQUESTS} requests each)")
    for name, p50, p95 in pages(app, client, total):
        print(f"{name:<40} {p50:>8.1f} {p95:>8.1f}")
    if arguments.pages_only:
        return
    print()
    for name, seconds, output in verify(app):
        print(f"{name:<40} {seconds:>8.1f} s")
        print(f"    {output.strip().splitlines()[-1]}")
    print()
    print(
        f"{'export':<10} {'records':>10} {'MiB out':>8} {'seconds':>8} {'records/s':>10}"
        f" {'RSS growth MiB':>15}"
    )
    with app.app_context():
        records = chain.record_count()
    for fmt in ("csv", "jsonl"):
        mib, seconds, growth = export(client, fmt)
        print(
            f"{fmt:<10} {records:>10,} {mib:>8.0f} {seconds:>8.1f} {records / seconds:>10,.0f}"
            f" {growth:>15.1f}"
        )


if __name__ == "__main__":
    main()

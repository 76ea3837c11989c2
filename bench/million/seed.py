"""Seed a PostgreSQL database with N consent records (default 1,000,000), fast and valid.

The schema comes from the app's own migrations (triggers and indexes as in production).
Customers, their journey runs and the records go in with COPY; each record is written as
the ledger would write it: the default journey's exact item wording (ledger.item_text),
its controllers, the customer's personal details encrypted with their own data key
(personal.encrypt_for), and each hash chained to the one before (chain.hash_values), so
that `flask consents verify` walks a genuine chain.

Every customer goes through the consent step once (one record per item, granted or
declined), withdraws one grant later and grants it again: five records per customer.

Run: `.venv/bin/python bench/million/seed.py [N]` with MILLION_DATABASE_URL set
(default postgresql://postgres@127.0.0.1:5432/million_db). The database is emptied first.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from cryptography.fernet import Fernet
from flask import Flask
from flask_babel import force_locale
from flask_migrate import upgrade
from sqlalchemy import text

from app import clock, create_app
from app.consent import chain, ledger
from app.consent.personal import encrypt_for
from app.engine.registry import get_journey
from app.engine.schema import ConsentStep, Journey
from app.engine.versions import record_version
from app.extensions import db
from app.models import ConsentChainHead, Customer
from app.vault import encrypt_text

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/million_db"
RECORDS_PER_CUSTOMER = 5
# One customer in LOCALE_EVERY answers in French, one in German; the rest in English.
LOCALES = ("en",) * 8 + ("fr", "de")
# The ledger spans this many days, ending now.
SPAN_DAYS = 730

RECORD_COLUMNS = (*chain.CHAINED_FIELDS, "prev_hash", "record_hash")
JSON_COLUMNS = frozenset({"controllers", "data_categories", "scope"})


def database_url() -> str:
    return os.environ.get("MILLION_DATABASE_URL", DEFAULT_URL)


def bench_app(url: str) -> Flask:
    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "WTF_CSRF_ENABLED": False,
            "PUBLIC_URL": "http://localhost",
            "ADMIN_LOGIN_RATE_LIMIT": "1000 per minute",
            "RATELIMIT_ENABLED": False,
        }
    )


def fresh_schema(app: Flask) -> None:
    """An empty database migrated to the app's head (the ledger's triggers refuse TRUNCATE,
    so the schema itself goes)."""
    with app.app_context():
        with db.engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        upgrade(directory=str(Path(__file__).resolve().parents[2] / "migrations"))


def _wordings(journey: Journey) -> dict[str, list[dict[str, Any]]]:
    """Per locale, each consent item's exact text and what the record keeps beside it."""
    step = next(s for s in journey.steps if isinstance(s, ConsentStep))
    wordings: dict[str, list[dict[str, Any]]] = {}
    for locale in set(LOCALES):
        with force_locale(locale):
            items = []
            for item in step.items:
                wording = ledger.item_text(journey, step, item, locale)
                items.append(
                    {
                        "item_key": item.key,
                        "required": item.required,
                        "text": wording,
                        "text_sha256": ledger.text_hash(wording),
                        "purpose": journey.text(item.purpose, locale),
                        "data_categories": [journey.text(item.category, locale)],
                    }
                )
            wordings[locale] = items
    return wordings


def _copy(table: str, columns: tuple[str, ...], rows: Iterator[tuple[Any, ...]]) -> int:
    """COPY ``rows`` into ``table`` on the session's own connection; how many went in."""
    cursor = db.session.connection().connection.driver_connection.cursor()
    count = 0
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def _customers(total: int, started: datetime) -> Iterator[tuple[Any, ...]]:
    # Numbered as their ids will be in an empty database.
    for i in range(1, total + 1):
        key = encrypt_text(Fernet.generate_key().decode())
        yield (str(uuid.uuid4()), f"Customer {i}", f"c{i}@example.com", f"CRM-{i:07}", started, key)


def _runs(
    customers: list[tuple[int, str]], journey: Journey, started: datetime
) -> Iterator[tuple[Any, ...]]:
    for index, (customer_id, _) in enumerate(customers):
        locale = LOCALES[index % len(LOCALES)]
        yield (
            str(uuid.uuid4()),
            customer_id,
            journey.id,
            journey.version,
            "done",
            "completed",
            json.dumps(["consent"]),
            json.dumps({}),
            locale,
            started,
            started,
            started,
        )


def _records(
    total: int,
    people: list[tuple[int, int, str, str]],
    journey: Journey,
    wordings: dict[str, list[dict[str, Any]]],
    first: datetime,
) -> Iterator[tuple[Any, ...]]:
    """Record rows in chain order, each hashed onto the one before."""
    controllers = ledger.controllers(journey)
    policy = journey.policy
    lifetime = timedelta(days=policy.lifetime_days) if policy.lifetime_days else None
    step = timedelta(days=SPAN_DAYS) / max(total, 1)
    prev = chain.GENESIS
    evidence_by_customer: dict[int, str] = {}
    granted_ids: dict[str, str] = {}
    for index in range(total):
        customer_id, run_id, locale, data_key = people[index // RECORDS_PER_CUSTOMER]
        items = wordings[locale]
        moment = index % RECORDS_PER_CUSTOMER
        # The journey's items in turn (the last declined), then a withdrawal of the first
        # and a fresh grant of it.
        if moment < len(items) and moment < RECORDS_PER_CUSTOMER - 2:
            item = items[moment]
            decision = ledger.DECLINED if moment == len(items) - 1 else ledger.GRANTED
            refers_to = None
        else:
            item = items[0]
            withdrawing = moment == RECORDS_PER_CUSTOMER - 2
            decision = ledger.WITHDRAWN if withdrawing else ledger.GRANTED
            refers_to = (
                granted_ids.get(f"{customer_id}:{item['item_key']}") if withdrawing else None
            )
        personal = evidence_by_customer.get(customer_id)
        if personal is None:
            customer = Customer(
                id=customer_id,
                name=f"Customer {customer_id}",
                email=f"c{customer_id}@example.com",
                data_key_ciphertext=data_key,
            )
            personal = encrypt_for(
                customer,
                {
                    "name": customer.name,
                    "email": customer.email,
                    "ip_address": "198.51.100.7",
                    "user_agent": "Mozilla/5.0 (bench)",
                },
            )
            evidence_by_customer.clear()  # one customer at a time: memory stays flat
            evidence_by_customer[customer_id] = personal
        recorded_at = first + step * index
        values = {
            "sequence": index + 1,
            "public_id": str(uuid.uuid4()),
            "customer_id": customer_id,
            "run_id": run_id,
            "journey_id": journey.id,
            "journey_version": journey.version,
            "item_key": item["item_key"],
            "text": item["text"],
            "text_sha256": item["text_sha256"],
            "decision": decision,
            "required": item["required"],
            "recorded_at": recorded_at,
            "expires_at": recorded_at + lifetime
            if lifetime and decision == ledger.GRANTED
            else None,
            "refers_to": refers_to,
            "locale": locale,
            "actor_type": "customer",
            "actor_id": None,
            "collection_method": ledger.BY_JOURNEY,
            "controllers": controllers,
            "purpose": item["purpose"],
            "data_categories": item["data_categories"],
            "policy_url": str(journey.business.privacy_url)
            if journey.business.privacy_url
            else None,
            "policy_version": policy.policy_version or journey.version,
            "jurisdiction": policy.jurisdiction,
            "scope": None,
            "personal_ciphertext": personal,
        }
        if decision == ledger.GRANTED:
            if moment == 0:
                granted_ids.clear()
            granted_ids[f"{customer_id}:{item['item_key']}"] = values["public_id"]
        values["prev_hash"] = prev
        values["record_hash"] = prev = chain.hash_values(values, prev)
        yield tuple(
            json.dumps(values[c]) if c in JSON_COLUMNS and values[c] is not None else values[c]
            for c in RECORD_COLUMNS
        )


def seed(app: Flask, total: int) -> dict[str, float]:
    """Fill an empty, migrated database with ``total`` chained records; timings in seconds."""
    timings: dict[str, float] = {}
    with app.test_request_context():
        journey = get_journey("default")
        if journey is None:
            raise SystemExit("the default journey is missing")
        record_version(journey)
        wordings = _wordings(journey)
        now = clock.now()
        first = now - timedelta(days=SPAN_DAYS)
        customer_total = -(-total // RECORDS_PER_CUSTOMER)

        started = time.perf_counter()
        _copy(
            "customers",
            ("public_id", "name", "email", "external_id", "created_at", "data_key_ciphertext"),
            _customers(customer_total, first),
        )
        customers = [
            (row[0], row[1])
            for row in db.session.execute(
                text("SELECT id, data_key_ciphertext FROM customers ORDER BY id")
            )
        ]
        _copy(
            "journey_runs",
            (
                "public_id",
                "customer_id",
                "journey_id",
                "journey_version",
                "current_step",
                "status",
                "completed_steps",
                "answers",
                "locale",
                "created_at",
                "updated_at",
                "completed_at",
            ),
            _runs(customers, journey, first),
        )
        runs = db.session.execute(
            text("SELECT customer_id, id, locale FROM journey_runs ORDER BY customer_id")
        ).all()
        keys = dict(customers)
        people = [(c, run_id, locale, keys[c]) for c, run_id, locale in runs]
        db.session.commit()
        timings["customers"] = time.perf_counter() - started

        started = time.perf_counter()
        _copy("consent_records", RECORD_COLUMNS, _records(total, people, journey, wordings, first))
        head = db.session.scalar(
            text("SELECT record_hash FROM consent_records WHERE sequence = :last"), {"last": total}
        )
        db.session.merge(ConsentChainHead(id=chain.HEAD_ID, sequence=total, hash=head))
        db.session.commit()
        timings["records"] = time.perf_counter() - started

        # What autovacuum would soon do: statistics for the planner, and the visibility map
        # that lets a date range be read from its index alone. VACUUM runs outside a
        # transaction.
        started = time.perf_counter()
        with db.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").execute(
                text("VACUUM ANALYZE")
            )
        timings["analyze"] = time.perf_counter() - started
    return timings


def main() -> None:
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    app = bench_app(database_url())
    fresh_schema(app)
    timings = seed(app, total)
    print(
        f"seeded {total:,} consent records: customers and runs {timings['customers']:.1f} s, "
        f"records {timings['records']:.1f} s, vacuum and analyze {timings['analyze']:.1f} s"
    )


if __name__ == "__main__":
    main()

"""Reading the consent ledger back: filters, and exports streamed in bounded memory.

An export reads the ledger in batches by row id (keyset), in a short transaction
each, and hands each batch on before reading the next: memory stays flat however
many records there are. It covers the records that existed when it started.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, false, func, select

from app.consent import ledger
from app.engine.registry import current_journeys
from app.engine.schema import ConsentStep
from app.extensions import db
from app.models import ConsentRecord, Customer, JourneyVersion
from app.queries import within_days

DECISIONS = ledger.DECISIONS
BATCH_SIZE = 1000
# A date range matching fewer records than this is first read for the ids it spans
# (see within_range_ids); a wider one is found soon enough walking the ids.
NARROW_RANGE = 50_000

# The columns of both exports, in order.
COLUMNS = (
    "consent_id",
    "recorded_at",
    "decision",
    "item",
    "required",
    "journey_id",
    "journey_version",
    "locale",
    "customer_id",
    "customer_external_id",
    "text",
    "text_sha256",
    "expires_at",
    "refers_to",
    "collection_method",
    "actor_type",
    "controllers",
    "purpose",
    "data_categories",
    "policy_url",
    "policy_version",
    "jurisdiction",
    "sequence",
    "prev_hash",
    "record_hash",
)

# Cells a spreadsheet would read as a formula (OWASP "CSV injection"), tab and CR included.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class LedgerFilter:
    """Which records to show or export; ``None`` leaves a criterion out."""

    journey_id: str | None = None
    item_key: str | None = None
    decision: str | None = None
    # Whole days in UTC, both included.
    recorded_from: date | None = None
    recorded_to: date | None = None
    # A subquery of the customer ids whose records may be shown (None: every customer's).
    customer_ids: Select[Any] | None = None

    def apply(self, query: Select[Any]) -> Select[Any]:
        if self.customer_ids is not None:
            query = query.where(ConsentRecord.customer_id.in_(self.customer_ids))
        if self.journey_id:
            query = query.where(ConsentRecord.journey_id == self.journey_id)
        if self.item_key:
            query = query.where(ConsentRecord.item_key == self.item_key)
        if self.decision:
            query = query.where(ConsentRecord.decision == self.decision)
        return within_days(query, ConsentRecord.recorded_at, self.recorded_from, self.recorded_to)

    def as_params(self) -> dict[str, str]:
        """The filter as query-string parameters (the console's field names)."""
        names = {
            "journey_id": "journey",
            "item_key": "item",
            "decision": "decision",
            "recorded_from": "date_from",
            "recorded_to": "date_to",
        }
        return {name: str(v) for k, name in names.items() if (v := getattr(self, k))}


def ledger_query(criteria: LedgerFilter) -> Select[Any]:
    """The consent records matching ``criteria``, for a page (see admin.keyset)."""
    query = criteria.apply(select(ConsentRecord))
    if criteria.recorded_from or criteria.recorded_to:
        return within_range_ids(query)
    return query


def within_range_ids(query: Select[Any]) -> Select[Any]:
    """``query`` (records filtered by date) bounded by the lowest and highest id it matches.

    Pages go in id order. Without the bounds the database walks the ids from the newest
    (or oldest) one until it reaches the dates asked for: a month a year back in a
    million records means half a million rows read for one page. The bounds come from
    the date index, which also holds the columns the filters name, for up to
    NARROW_RANGE records; a wider range is left to the id walk, which soon finds it.
    """
    matching = query.with_only_columns(ConsentRecord.id).order_by(None).limit(NARROW_RANGE)
    ids = matching.subquery()
    low, high, count = db.session.execute(
        select(func.min(ids.c.id), func.max(ids.c.id), func.count()).select_from(ids)
    ).one()
    if count == 0:
        return query.where(false())
    if count >= NARROW_RANGE:
        return query
    return query.where(ConsentRecord.id.between(low, high))


def journey_ids() -> list[str]:
    """Every journey a record may belong to: current ones and earlier kept versions."""
    kept = db.session.scalars(select(JourneyVersion.journey_id).distinct())
    return sorted(set(current_journeys()) | set(kept))


def item_keys() -> list[str]:
    """The consent items the current journeys ask about (suggestions for the filter)."""
    keys: set[str] = set()
    for journey in current_journeys().values():
        for step in journey.steps:
            if isinstance(step, ConsentStep):
                keys.update(item.key for item in step.items)
    return sorted(keys)


def customers_by_id(ids: Iterable[int]) -> dict[int, Customer]:
    wanted = set(ids)
    if not wanted:
        return {}
    rows = db.session.scalars(select(Customer).where(Customer.id.in_(wanted)))
    return {customer.id: customer for customer in rows}


def export_records(
    criteria: LedgerFilter, batch_size: int = BATCH_SIZE
) -> Iterator[dict[str, Any]]:
    """Every matching record as a flat dict (see COLUMNS), oldest first, batch by batch."""
    upper = db.session.scalar(select(func.max(ConsentRecord.id)))
    if upper is None:
        return
    columns: list[Any] = [
        ConsentRecord.id,
        ConsentRecord.public_id,
        ConsentRecord.recorded_at,
        ConsentRecord.decision,
        ConsentRecord.item_key,
        ConsentRecord.required,
        ConsentRecord.journey_id,
        ConsentRecord.journey_version,
        ConsentRecord.locale,
        Customer.public_id.label("customer_public_id"),
        Customer.external_id,
        ConsentRecord.text,
        ConsentRecord.text_sha256,
        ConsentRecord.expires_at,
        ConsentRecord.refers_to,
        ConsentRecord.collection_method,
        ConsentRecord.actor_type,
        ConsentRecord.controllers,
        ConsentRecord.purpose,
        ConsentRecord.data_categories,
        ConsentRecord.policy_url,
        ConsentRecord.policy_version,
        ConsentRecord.jurisdiction,
        ConsentRecord.sequence,
        ConsentRecord.prev_hash,
        ConsentRecord.record_hash,
    ]
    joined = select(*columns).join(Customer, Customer.id == ConsentRecord.customer_id)
    query = criteria.apply(joined.where(ConsentRecord.id <= upper)).order_by(ConsentRecord.id)
    last = 0
    while True:
        # Plain rows, not ORM objects: nothing accumulates in the session's identity map.
        rows = db.session.execute(query.where(ConsentRecord.id > last).limit(batch_size)).all()
        # A slow download holds no transaction open; the id bound keeps the set stable.
        db.session.rollback()
        for row in rows:
            yield {
                "consent_id": row.public_id,
                "recorded_at": row.recorded_at.isoformat(),
                "decision": row.decision,
                "item": row.item_key,
                "required": row.required,
                "journey_id": row.journey_id,
                "journey_version": row.journey_version,
                "locale": row.locale,
                "customer_id": row.customer_public_id,
                "customer_external_id": row.external_id,
                "text": row.text,
                "text_sha256": row.text_sha256,
                "expires_at": row.expires_at.isoformat() if row.expires_at else None,
                "refers_to": row.refers_to,
                "collection_method": row.collection_method,
                "actor_type": row.actor_type,
                # Names only, so that a CSV cell stays readable; the API gives every detail.
                "controllers": "; ".join(c.get("name") or "" for c in row.controllers),
                "purpose": row.purpose,
                "data_categories": "; ".join(row.data_categories),
                "policy_url": row.policy_url,
                "policy_version": row.policy_version,
                "jurisdiction": row.jurisdiction,
                "sequence": row.sequence,
                "prev_hash": row.prev_hash,
                "record_hash": row.record_hash,
            }
        if len(rows) < batch_size:
            return
        last = rows[-1].id


def spreadsheet_safe(value: Any) -> str:
    """A CSV cell a spreadsheet shows as text: formula-like values get a leading '."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def csv_chunks(records: Iterable[dict[str, Any]], rows_per_chunk: int = 500) -> Iterator[bytes]:
    """UTF-8 CSV (RFC 4180, header first) in chunks of ``rows_per_chunk`` rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for count, record in enumerate(records, start=1):
        writer.writerow([spreadsheet_safe(record[column]) for column in COLUMNS])
        if count % rows_per_chunk == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def jsonl_chunks(records: Iterable[dict[str, Any]], rows_per_chunk: int = 500) -> Iterator[bytes]:
    """JSON Lines: one record per line, each a complete JSON object with the exact text."""
    lines: list[str] = []
    for record in records:
        lines.append(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
        if len(lines) == rows_per_chunk:
            yield ("\n".join(lines) + "\n").encode()
            lines.clear()
    if lines:
        yield ("\n".join(lines) + "\n").encode()

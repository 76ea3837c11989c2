"""Small query pieces that several areas share."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute


def within_days(
    query: Select[Any],
    column: InstrumentedAttribute[datetime],
    first: date | None,
    last: date | None,
) -> Select[Any]:
    """Rows whose ``column`` falls on ``first`` to ``last`` (UTC days, both included)."""
    if first:
        query = query.where(column >= datetime.combine(first, time.min, UTC))
    if last:
        query = query.where(column < datetime.combine(last + timedelta(days=1), time.min, UTC))
    return query

"""Small query pieces that several areas share."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import InstrumentedAttribute

from app.extensions import db


def within_days(
    query: Select[Any],
    column: InstrumentedAttribute[datetime],
    first: date | None,
    last: date | None,
) -> Select[Any]:
    """Rows whose ``column`` falls on ``first`` to ``last`` (UTC days, both included)."""
    if first:
        query = query.where(column >= datetime.combine(first, time.min, UTC))
    # The last day there is (9999-12-31) has no next day: every row falls before it.
    if last and last < date.max:
        query = query.where(column < datetime.combine(last + timedelta(days=1), time.min, UTC))
    return query


def count_rows(query: Select[Any]) -> int:
    """How many rows ``query`` lists: what a figure linking to that list says."""
    counted = select(func.count()).select_from(query.order_by(None).subquery())
    return db.session.scalar(counted) or 0

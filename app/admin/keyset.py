"""Keyset pagination for the console's long lists: newest first, by row id.

A page is named by the id it starts after: ``?before=<id>`` for older rows,
``?after=<id>`` for newer ones (the forms read them: filter_forms.Paged). Unlike
an offset, a page stays put while new rows arrive, and reading page 2,000 costs
what reading page 1 does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select

from app.extensions import db

PAGE_SIZE = 50
# A row id as the database holds it (a 32-bit integer on PostgreSQL): up to 10 digits, and
# at most MAX_ROW_ID (``\Z``, not ``$``, which would let a trailing line break through).
ROW_ID = r"\A[0-9]{1,10}\Z"
MAX_ROW_ID = 2**31 - 1


def row_id(value: str | None) -> int | None:
    """The page position ``value`` names, or None if it names none; beyond the largest
    id a row can have, the largest id."""
    if not value or re.fullmatch(ROW_ID, value) is None:
        return None
    return min(int(value), MAX_ROW_ID)


@dataclass(frozen=True)
class Window:
    """One page of rows, newest first, with where the neighbouring pages start."""

    rows: list[Any]
    # The ``after`` value of the newer page and the ``before`` value of the older one.
    newer: int | None
    older: int | None


def _exists(query: Select[Any]) -> bool:
    return db.session.scalars(query.limit(1)).first() is not None


def newest_first(
    query: Select[Any],
    id_column: Any,
    before: int | None = None,
    after: int | None = None,
    size: int = PAGE_SIZE,
) -> Window:
    """The page of ``query`` (a select of one entity) that ``before``/``after`` names."""
    if after is not None:
        rows = list(
            db.session.scalars(
                query.where(id_column > after).order_by(id_column.asc()).limit(size + 1)
            )
        )
        newer_exists = len(rows) > size
        rows = rows[:size][::-1]
        if not rows:
            return newest_first(query, id_column, size=size)
        older_exists = _exists(query.where(id_column < rows[-1].id))
    else:
        bounded = query if before is None else query.where(id_column < before)
        rows = list(db.session.scalars(bounded.order_by(id_column.desc()).limit(size + 1)))
        older_exists = len(rows) > size
        rows = rows[:size]
        newer_exists = (
            bool(rows) and before is not None and _exists(query.where(id_column > rows[0].id))
        )
    return Window(
        rows,
        newer=rows[0].id if newer_exists else None,
        older=rows[-1].id if older_exists else None,
    )

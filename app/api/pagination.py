"""Cursor pagination: keyset on the row id, with opaque, signed cursors.

A cursor names the resource it belongs to and the last id returned. It is signed
with the app's secret, so a client cannot forge or alter one to skip around: a
tampered cursor, or one from another list, is refused as a bad parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import Select

from app.extensions import db
from app.problems import FieldError, Problem

_SALT = "onramp.api.cursor.v1"
T = TypeVar("T")


@dataclass(frozen=True)
class Page:
    items: list[Any]
    next_cursor: str | None


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def encode_cursor(resource: str, last_id: int) -> str:
    return str(_serializer().dumps({"r": resource, "id": last_id}))


def decode_cursor(resource: str, cursor: str) -> int:
    """The last id a cursor names; a Problem naming ``cursor`` if it is not one of ours."""
    try:
        data = _serializer().loads(cursor)
    except BadSignature:
        data = None
    if (
        not isinstance(data, dict)
        or data.get("r") != resource
        or not isinstance(data.get("id"), int)
    ):
        raise Problem(
            "invalid-parameter",
            "The cursor is not one this list returned; start again without a cursor.",
            [FieldError("cursor", "not a valid cursor for this list")],
        )
    return int(data["id"])


def paginate(
    resource: str, query: Select[Any], id_column: Any, limit: int, cursor: str | None
) -> Page:
    """One page of ``query`` in id order, after the row the cursor names."""
    if cursor:
        query = query.where(id_column > decode_cursor(resource, cursor))
    rows = list(db.session.scalars(query.order_by(id_column).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(resource, rows[-1].id) if more and rows else None
    return Page(rows, next_cursor)

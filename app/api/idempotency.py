"""Idempotency-Key: a retried write gets the first answer again and changes nothing twice.

The key is claimed by inserting a row (unique per API key), so two copies of a
request racing each other cannot both run: the second sees the first in progress
(409). The answer is stored when the request finishes; a failure on our side (5xx)
frees the key so that the retry runs. Records live for 24 hours.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from app import clock
from app.extensions import db
from app.models import IdempotencyRecord
from app.problems import FieldError, Problem

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
KEEP_FOR = timedelta(hours=24)
# A request that claimed a key and then vanished (its process died) frees it after this.
IN_PROGRESS_TIMEOUT = timedelta(minutes=2)


@dataclass(frozen=True)
class Claim:
    record_id: int


@dataclass(frozen=True)
class Replay:
    status_code: int
    body: Any


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What a key is bound to: the same method, path and body bytes."""
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), body):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def check_key(key: str) -> str:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise Problem(
            "invalid-parameter",
            f"The {HEADER} header must be 1 to {MAX_KEY_LENGTH} printable ASCII characters.",
            [FieldError(HEADER, f"must be 1 to {MAX_KEY_LENGTH} printable ASCII characters")],
        )
    return key


def begin(api_key_id: int, key: str, request_sha256: str) -> Claim | Replay:
    """Claim ``key`` for this request, or return the stored answer of its first use.

    Raises a Problem when the key is in use by another request (422) or still
    running (409).
    """
    purge_expired(api_key_id)
    record = IdempotencyRecord(api_key_id=api_key_id, key=key, request_sha256=request_sha256)
    db.session.add(record)
    try:
        db.session.commit()
        return Claim(record.id)
    except IntegrityError:
        db.session.rollback()
    earlier = db.session.scalars(
        select(IdempotencyRecord).where(
            IdempotencyRecord.api_key_id == api_key_id, IdempotencyRecord.key == key
        )
    ).one()
    if earlier.request_sha256 != request_sha256:
        raise Problem(
            "idempotency-key-reused",
            f"This {HEADER} was first used with a different request; use a new key.",
            [FieldError(HEADER, "already used with a different method, path or body")],
        )
    if earlier.status_code is not None:
        return Replay(earlier.status_code, earlier.response_body)
    if _take_over(earlier):
        return Claim(earlier.id)
    raise Problem(
        "idempotency-in-progress",
        f"A request with this {HEADER} is still being processed; retry in a moment.",
        headers={"Retry-After": "1"},
    )


def _take_over(record: IdempotencyRecord) -> bool:
    """Claim a key whose first request started long ago and never finished."""
    started = record.created_at
    if clock.now() - started < IN_PROGRESS_TIMEOUT:
        return False
    taken = db.session.execute(
        update(IdempotencyRecord)
        .where(
            IdempotencyRecord.id == record.id,
            IdempotencyRecord.status_code.is_(None),
            IdempotencyRecord.created_at == started,
        )
        .values(created_at=clock.now())
    )
    db.session.commit()
    return bool(taken.rowcount == 1)  # type: ignore[attr-defined]


def finish(claim: Claim, status_code: int, body: Any) -> None:
    """Store the answer to replay; a server-side failure frees the key instead."""
    db.session.rollback()
    if status_code >= 500:
        release(claim)
        return
    db.session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.id == claim.record_id)
        .values(status_code=status_code, response_body=body)
    )
    db.session.commit()


def release(claim: Claim) -> None:
    db.session.rollback()
    db.session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id == claim.record_id))
    db.session.commit()


def purge_expired(api_key_id: int | None = None) -> int:
    """Forget records older than 24 hours (of one API key, or all); returns how many."""
    statement = delete(IdempotencyRecord).where(
        IdempotencyRecord.created_at < clock.now() - KEEP_FOR
    )
    if api_key_id is not None:
        statement = statement.where(IdempotencyRecord.api_key_id == api_key_id)
    result = db.session.execute(statement)
    db.session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]

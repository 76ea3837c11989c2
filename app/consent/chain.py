"""The consent ledger's hash chain: tamper evidence for every record ever written.

``hash_n = SHA-256(canonical(record_n) || hash_{n-1})``, where the canonical form is the
record's content as sorted, compact JSON. Appending first bumps the one row of
``consent_chain_head``: that UPDATE takes the database's write lock (SQLite) or the
row's lock (PostgreSQL) until commit, so writers take turns and the chain never forks;
unique ``sequence`` and ``prev_hash`` columns refuse a fork even if that were bypassed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, func, select, update
from sqlalchemy.exc import IntegrityError

from app import clock
from app.extensions import db
from app.models import ConsentChainHead, ConsentRecord, new_public_id

GENESIS = "0" * 64
HEAD_ID = 1

# Every stored field except the hash itself, in the canonical form's keys.
CHAINED_FIELDS = (
    "sequence",
    "public_id",
    "customer_id",
    "run_id",
    "journey_id",
    "journey_version",
    "item_key",
    "text",
    "text_sha256",
    "decision",
    "required",
    "recorded_at",
    "expires_at",
    "refers_to",
    "locale",
    "actor_type",
    "actor_id",
    "collection_method",
    "controllers",
    "purpose",
    "data_categories",
    "policy_url",
    "policy_version",
    "jurisdiction",
    "scope",
    "personal_ciphertext",
)


def _plain(value: Any) -> Any:
    return value.isoformat(timespec="microseconds") if isinstance(value, datetime) else value


def canonical_values(values: Mapping[Any, Any]) -> bytes:
    """The canonical form of a record given as its field values (a row, or a dict about to
    be inserted in bulk): what the hash covers."""
    content = {name: _plain(values[name]) for name in CHAINED_FIELDS}
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def hash_values(values: Mapping[Any, Any], prev_hash: str) -> str:
    """The hash of a record given as its field values, chained to ``prev_hash``."""
    return hashlib.sha256(canonical_values(values) + bytes.fromhex(prev_hash)).hexdigest()


def compute_hash(record: ConsentRecord, prev_hash: str) -> str:
    return hash_values({name: getattr(record, name) for name in CHAINED_FIELDS}, prev_hash)


def _move_head(**values: Any) -> tuple[int, str]:
    """Update the head row, which takes the chain's lock until commit; returns the head's
    (sequence, hash) after the update."""
    for _ in range(2):
        row = db.session.execute(
            update(ConsentChainHead)
            .where(ConsentChainHead.id == HEAD_ID)
            .values(updated_at=clock.now(), **values)
            .returning(ConsentChainHead.sequence, ConsentChainHead.hash)
        ).first()
        if row is not None:
            return int(row[0]), str(row[1])
        # A new (or emptied) database: start the chain. Another writer may race us here.
        try:
            with db.session.begin_nested():
                db.session.add(ConsentChainHead(id=HEAD_ID, sequence=0, hash=GENESIS))
        except IntegrityError:
            pass
    raise RuntimeError("the consent chain head could not be claimed")


def lock() -> None:
    """Hold the chain's lock until commit before deciding what to append.

    Whoever must read the ledger and then append on what it read (expiry, withdrawal)
    takes the lock first, so that no other writer appends in between.
    """
    _move_head()


def append(record: ConsentRecord) -> ConsentRecord:
    """Give ``record`` its place and hash at the end of the chain, and add it (caller commits)."""
    sequence, prev_hash = _move_head(sequence=ConsentChainHead.sequence + 1)
    record.recorded_at = record.recorded_at or clock.now()
    record.public_id = record.public_id or new_public_id()
    record.sequence = sequence
    record.prev_hash = prev_hash
    record.record_hash = compute_hash(record, prev_hash)
    db.session.add(record)
    db.session.execute(
        update(ConsentChainHead)
        .where(ConsentChainHead.id == HEAD_ID)
        .values(hash=record.record_hash)
    )
    db.session.flush()
    return record


@dataclass(frozen=True)
class Head:
    sequence: int
    hash: str
    updated_at: datetime | None


def head() -> Head:
    row = db.session.get(ConsentChainHead, HEAD_ID)
    if row is None:
        return Head(0, GENESIS, None)
    return Head(row.sequence, row.hash, row.updated_at)


@dataclass(frozen=True)
class Break:
    """Where the chain stops being provable, and why."""

    sequence: int
    record_id: str | None
    reason: str


@dataclass(frozen=True)
class Verification:
    records: int
    head: str
    problem: Break | None
    # The records up to this sequence were taken from a signed checkpoint, not rehashed.
    trusted_up_to: int = 0

    @property
    def ok(self) -> bool:
        return self.problem is None


# What a walk reads of each record: plain rows, not ORM objects, so that a million records
# cost a million tuples and no identity map.
_WALKED = [getattr(ConsentRecord, name) for name in CHAINED_FIELDS] + [
    ConsentRecord.prev_hash,
    ConsentRecord.record_hash,
]


def _records(after: int, batch: int) -> Iterator[RowMapping]:
    last = after
    while True:
        rows = (
            db.session.execute(
                select(*_WALKED)
                .where(ConsentRecord.sequence > last)
                .order_by(ConsentRecord.sequence)
                .limit(batch)
            )
            .mappings()
            .all()
        )
        if not rows:
            return
        yield from rows
        last = rows[-1]["sequence"]


def _start_at(checkpoint: tuple[int, str]) -> Break | None:
    """Whether the chain still holds the record a checkpoint signed, with its hash."""
    sequence, digest = checkpoint
    found = db.session.execute(
        select(ConsentRecord.public_id, ConsentRecord.record_hash).where(
            ConsentRecord.sequence == sequence
        )
    ).first()
    if found is None:
        return Break(sequence, None, "the chain is shorter than the checkpoint")
    if found.record_hash != digest:
        return Break(sequence, found.public_id, "its hash differs from the checkpoint's")
    return None


def verify(
    *,
    expect: tuple[int, str] | None = None,
    since: tuple[int, str] | None = None,
    batch: int = 5000,
) -> Verification:
    """Walk the chain; the first record that does not match is reported.

    ``expect`` is a checkpoint's (sequence, hash): the chain must still pass through it.
    ``since`` is a signed checkpoint's (sequence, hash) to start from: the records up to it
    are taken on the checkpoint's word and only the later ones are rehashed (incremental).
    """
    prev = GENESIS
    count = 0
    if since is not None and since[0] > 0:
        refused = _start_at(since)
        if refused is not None:
            return Verification(0, prev, refused)
        count, prev = since
        expect = None  # the start is the checkpoint itself
    trusted = count
    checkpoint_seen = expect is None
    for record in _records(count, batch):
        count += 1
        sequence, public_id = record["sequence"], record["public_id"]
        if sequence != count:
            problem = Break(count, None, f"record {count} is missing from the chain")
            return Verification(count - 1, prev, problem, trusted)
        if record["prev_hash"] != prev:
            problem = Break(count, public_id, "it does not point at the record before it")
            return Verification(count - 1, prev, problem, trusted)
        if hash_values(record, prev) != record["record_hash"]:
            problem = Break(count, public_id, "its content does not match its hash")
            return Verification(count - 1, prev, problem, trusted)
        prev = record["record_hash"]
        if expect is not None and sequence == expect[0]:
            if prev != expect[1]:
                problem = Break(count, public_id, "its hash differs from the checkpoint's")
                return Verification(count, prev, problem, trusted)
            checkpoint_seen = True
    if not checkpoint_seen and expect is not None:
        return Verification(
            count, prev, Break(expect[0], None, "the chain is shorter than the checkpoint")
        )
    result = _against_head(count, prev)
    return Verification(result.records, result.head, result.problem, trusted)


def _against_head(count: int, last_hash: str) -> Verification:
    """The records verified; the head must say the chain ends where they end. An emptied
    or shortened ledger verifies record by record: only the head still knows its length."""
    row = db.session.get(ConsentChainHead, HEAD_ID)
    if row is None:
        if count == 0:
            return Verification(0, last_hash, None)  # a new ledger: nothing written yet
        problem = Break(count, None, f"the chain head is missing, though {count} record(s) remain")
        return Verification(count, last_hash, problem)
    if row.sequence > count:
        where = f"the chain ends at record {count}" if count else "none remain"
        said = f"the chain head says {row.sequence} record(s) were written, but {where}"
        return Verification(count, last_hash, Break(count + 1, None, said))
    if row.sequence < count:
        said = f"the chain head says the chain ends at record {row.sequence}"
        return Verification(row.sequence, row.hash, Break(row.sequence + 1, None, said))
    if row.hash != last_hash:
        said = "the chain head's hash differs from the last record's"
        return Verification(count, last_hash, Break(count, None, said))
    return Verification(count, last_hash, None)


def record_count() -> int:
    return int(db.session.scalar(select(func.count()).select_from(ConsentRecord)) or 0)

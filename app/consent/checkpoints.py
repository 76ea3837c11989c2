"""Signed checkpoints of the chain head: proof, kept elsewhere, of what the ledger held."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select

from app import clock
from app.consent import chain, ledger_signing
from app.extensions import db
from app.models import ConsentCheckpoint

TYPE = "onramp-ledger-checkpoint+jws"


def write_checkpoint() -> ConsentCheckpoint:
    """Sign the current head and keep the signed statement too (the caller commits)."""
    current = chain.head()
    created_at = clock.now()
    statement = {
        "iss": ledger_signing.issuer(),
        "iat": int(created_at.timestamp()),
        "sequence": current.sequence,
        "hash": current.hash,
        "created_at": created_at.isoformat(),
    }
    checkpoint = ConsentCheckpoint(
        sequence=current.sequence,
        hash=current.hash,
        created_at=created_at,
        jws=ledger_signing.sign(statement, TYPE),
    )
    db.session.add(checkpoint)
    db.session.flush()
    return checkpoint


def latest_checkpoint() -> ConsentCheckpoint | None:
    return db.session.scalars(
        select(ConsentCheckpoint).order_by(ConsentCheckpoint.id.desc()).limit(1)
    ).first()


@dataclass(frozen=True)
class CheckpointClaims:
    sequence: int
    hash: str
    created_at: str


def read_checkpoint(token: str, key: Ed25519PublicKey) -> CheckpointClaims:
    """The statement of a genuine checkpoint; ledger_signing.SignatureInvalid otherwise."""
    header, payload = ledger_signing.verify(token, key)
    if header.get("typ") != TYPE:
        raise ledger_signing.SignatureInvalid("this is not a ledger checkpoint")
    sequence: Any = payload.get("sequence")
    digest: Any = payload.get("hash")
    if not isinstance(sequence, int) or not isinstance(digest, str):
        raise ledger_signing.SignatureInvalid("the checkpoint lacks its sequence or hash")
    return CheckpointClaims(sequence, digest, str(payload.get("created_at")))


def latest_claims(key: Ed25519PublicKey) -> CheckpointClaims | None:
    """The statement of the latest stored checkpoint, its signature checked with ``key``
    (ledger_signing.SignatureInvalid if it was altered); None before the first one."""
    stored = latest_checkpoint()
    return read_checkpoint(stored.jws, key) if stored is not None else None

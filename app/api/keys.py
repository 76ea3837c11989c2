"""API keys: created once, shown once, stored as a prefix and a SHA-256 of the whole key.

A key is ``onr_<12 characters>_<43 characters>``. The first part (the prefix) is not
secret: it finds the row and names the key in lists and the audit trail. The rest is
256 random bits, so a single fast hash is enough (no password-style stretching), and
it is compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from sqlalchemy import select, update

from app import audit, clock
from app.extensions import db
from app.models import ApiKey

KEY_START = "onr_"
PREFIX_LENGTH = len(KEY_START) + 12
SCOPES = ("read", "write", "credentials", "files")
# last_used_at is a hint for people tidying up keys: one write a minute is plenty.
LAST_USED_RESOLUTION = timedelta(minutes=1)
# Compared against when the prefix matches no key, so that a miss takes as long as a hit.
_NO_KEY_DIGEST = hashlib.sha256(b"no such key").hexdigest()


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(
    name: str, scopes: list[str], actor: tuple[str, str] = ("cli", "flask api-keys")
) -> tuple[ApiKey, str]:
    """Create a key with ``scopes``; return it and the full key, which is never shown again.

    ``actor`` (type, id) is written to the audit log with it.
    """
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise ValueError(f"unknown scope(s): {', '.join(unknown)}")
    if not scopes:
        raise ValueError("a key needs at least one scope")
    prefix = KEY_START + secrets.token_hex(6)
    key = f"{prefix}_{secrets.token_urlsafe(32)}"
    api_key = ApiKey(
        prefix=prefix,
        secret_sha256=_digest(key),
        name=name.strip(),
        scopes=" ".join(s for s in SCOPES if s in scopes),
    )
    db.session.add(api_key)
    audit.record(
        *actor,
        "api_key.create",
        "api_key",
        prefix,
        None,
        {"name": api_key.name, "scopes": api_key.scopes},
    )
    db.session.commit()
    return api_key, key


def list_keys() -> list[ApiKey]:
    return list(db.session.scalars(select(ApiKey).order_by(ApiKey.id)))


def revoke_key(prefix: str, actor: tuple[str, str] = ("cli", "flask api-keys")) -> ApiKey | None:
    """Revoke a key by its prefix; None when there is no such key. Revoking twice is harmless."""
    api_key = db.session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).first()
    if api_key is None:
        return None
    if api_key.revoked_at is None:
        api_key.revoked_at = clock.now()
        audit.record(
            *actor, "api_key.revoke", "api_key", prefix, {"revoked": False}, {"revoked": True}
        )
        db.session.commit()
    return api_key


def authenticate(key: str) -> ApiKey | None:
    """The live key ``key`` is, or None (unknown, malformed or revoked)."""
    prefix = key[:PREFIX_LENGTH]
    well_formed = key.startswith(KEY_START) and key[PREFIX_LENGTH : PREFIX_LENGTH + 1] == "_"
    api_key = (
        db.session.scalars(select(ApiKey).where(ApiKey.prefix == prefix)).first()
        if well_formed
        else None
    )
    expected = api_key.secret_sha256 if api_key is not None else _NO_KEY_DIGEST
    matches = hmac.compare_digest(_digest(key), expected)
    if api_key is None or not matches or api_key.revoked_at is not None:
        return None
    _touch(api_key)
    return api_key


def _touch(api_key: ApiKey) -> None:
    now = clock.now()
    last = api_key.last_used_at
    if last is not None and now - last < LAST_USED_RESOLUTION:
        return
    db.session.execute(update(ApiKey).where(ApiKey.id == api_key.id).values(last_used_at=now))
    db.session.commit()

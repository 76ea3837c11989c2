"""Authorization requests in progress: the single-use OAuth state and its PKCE verifier.

They are kept server-side, never in the (signed but readable) session cookie: in the
database by default, or in Redis when ``REDIS_URL`` is set, so that whichever worker
process receives the provider's redirect can finish the flow.
"""

from __future__ import annotations

import enum
import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

import redis
from flask import Flask, current_app
from sqlalchemy import delete, select, update

from app import clock
from app.extensions import db
from app.models import OAuthFlow
from app.vault import decrypt_text, encrypt_text

REDIS_EXTENSION_KEY = "onramp.redis"
# A used state is remembered this long, so a replayed callback can be told apart.
USED_MEMORY = timedelta(days=2)


class Outcome(enum.Enum):
    FRESH = "fresh"
    USED = "used"
    EXPIRED = "expired"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class PendingFlow:
    state: str
    connection_id: int
    run_id: int
    platform: str
    issuer: str
    redirect_uri: str
    code_verifier: str
    expires_at: datetime
    expected_org_id: str | None = None


@dataclass(frozen=True)
class Taken:
    outcome: Outcome
    flow: PendingFlow | None = None


def _state_hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def _redis() -> redis.Redis | None:
    client: redis.Redis | None = current_app.extensions.get(REDIS_EXTENSION_KEY)
    return client


def init_flow_store(app: Flask) -> None:
    if app.config.get("REDIS_URL"):
        app.extensions[REDIS_EXTENSION_KEY] = redis.Redis.from_url(
            app.config["REDIS_URL"], socket_timeout=5, socket_connect_timeout=5
        )


def save_flow(flow: PendingFlow) -> None:
    """Remember a new authorization request (the caller commits the session)."""
    client = _redis()
    if client is None:
        # Like Redis's expiry: requests older than their lifetime and the memory of their
        # use are forgotten, so no callback address works (or is recognised) for ever.
        db.session.execute(
            delete(OAuthFlow).where(OAuthFlow.expires_at < clock.now() - USED_MEMORY)
        )
        db.session.add(
            OAuthFlow(
                state_hash=_state_hash(flow.state),
                connection_id=flow.connection_id,
                run_id=flow.run_id,
                platform=flow.platform,
                issuer=flow.issuer,
                redirect_uri=flow.redirect_uri,
                code_verifier_ciphertext=encrypt_text(flow.code_verifier),
                expires_at=flow.expires_at,
                expected_org_id=flow.expected_org_id,
            )
        )
        return
    payload = {**asdict(flow), "state": "", "expires_at": flow.expires_at.isoformat()}
    payload["code_verifier"] = encrypt_text(flow.code_verifier)
    ttl = int((flow.expires_at - clock.now()).total_seconds()) + int(USED_MEMORY.total_seconds())
    client.set(_redis_key("pending", flow.state), json.dumps(payload), ex=max(ttl, 1))


def take_flow(state: str) -> Taken:
    """Claim a flow by its state, exactly once across all workers."""
    client = _redis()
    return _take_from_redis(client, state) if client is not None else _take_from_database(state)


def run_of(state: str) -> int | None:
    """The run whose authorization ``state`` names, without claiming it; None if unknown."""
    client = _redis()
    if client is None:
        row = _remembered_row(state)
        return row.run_id if row is not None else None
    raw = client.get(_redis_key("pending", state)) or client.get(_redis_key("used", state))
    return int(json.loads(raw)["run_id"]) if raw is not None else None


def _remembered_row(state: str) -> OAuthFlow | None:
    return db.session.scalars(
        select(OAuthFlow).where(
            OAuthFlow.state_hash == _state_hash(state),
            OAuthFlow.expires_at >= clock.now() - USED_MEMORY,
        )
    ).first()


def _take_from_database(state: str) -> Taken:
    row = _remembered_row(state)
    if row is None:
        return Taken(Outcome.UNKNOWN)
    claimed = db.session.execute(
        update(OAuthFlow)
        .where(OAuthFlow.id == row.id, OAuthFlow.consumed_at.is_(None))
        .values(consumed_at=clock.now())
    )
    db.session.commit()
    flow = PendingFlow(
        state=state,
        connection_id=row.connection_id,
        run_id=row.run_id,
        platform=row.platform,
        issuer=row.issuer,
        redirect_uri=row.redirect_uri,
        code_verifier=decrypt_text(row.code_verifier_ciphertext),
        expires_at=row.expires_at,
        expected_org_id=row.expected_org_id,
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return Taken(Outcome.USED, flow)
    if row.expires_at < clock.now():
        return Taken(Outcome.EXPIRED, flow)
    return Taken(Outcome.FRESH, flow)


def _redis_key(kind: str, state: str) -> str:
    return f"onramp:oauth-flow:{kind}:{_state_hash(state)}"


def _take_from_redis(client: redis.Redis, state: str) -> Taken:
    raw = client.getdel(_redis_key("pending", state))
    if raw is None:
        used = client.get(_redis_key("used", state))
        if used is None:
            return Taken(Outcome.UNKNOWN)
        return Taken(Outcome.USED, _flow_from_json(state, used))
    client.set(_redis_key("used", state), raw, ex=int(USED_MEMORY.total_seconds()))
    flow = _flow_from_json(state, raw)
    if flow.expires_at < clock.now():
        return Taken(Outcome.EXPIRED, flow)
    return Taken(Outcome.FRESH, flow)


def _flow_from_json(state: str, raw: bytes | str) -> PendingFlow:
    data = json.loads(raw)
    return PendingFlow(
        state=state,
        connection_id=int(data["connection_id"]),
        run_id=int(data["run_id"]),
        platform=data["platform"],
        issuer=data["issuer"],
        redirect_uri=data["redirect_uri"],
        code_verifier=decrypt_text(data["code_verifier"]),
        expires_at=datetime.fromisoformat(data["expires_at"]),
        expected_org_id=data.get("expected_org_id"),
    )

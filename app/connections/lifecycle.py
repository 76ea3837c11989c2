"""After linking: refresh before expiry, notice deauthorization, disconnect, rotate keys.

Refreshes are safe to run from several processes at once: a process first claims a
connection for a short lease with a conditional UPDATE, and stores the new tokens
only if nobody changed them meanwhile, so a rotating refresh token is used once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update

from app import audit, clock
from app.connections.oauth import ProviderError, provider_config, refresh_tokens, revoke_tokens
from app.extensions import db
from app.models import Connection, Customer, OAuthFlow
from app.platforms import get_platform
from app.vault import decrypt_json, encrypt_json, keys
from app.webhooks import endpoints as webhook_endpoints
from app.webhooks.outbox import connection_ids, emit

REFRESH_LEAD = timedelta(minutes=5)
CLAIM_LEASE = timedelta(seconds=60)


def due_for_refresh(lead: timedelta = REFRESH_LEAD) -> list[int]:
    """Linked connections whose access token expires within ``lead``."""
    return list(
        db.session.scalars(
            select(Connection.id).where(
                Connection.status == "linked",
                Connection.token_expires_at.is_not(None),
                Connection.token_expires_at <= clock.now() + lead,
            )
        )
    )


def current(connection_id: int) -> Connection | None:
    """The connection as the database has it now, not as this session last saw it."""
    connection = db.session.get(Connection, connection_id)
    if connection is not None:
        db.session.refresh(connection)
    return connection


def claim(connection_id: int) -> bool:
    """Hold a linked connection for a short lease (its refresh, or another change to it
    that no second process may make at once); False if another process holds it."""
    now = clock.now()
    claimed = db.session.execute(
        update(Connection)
        .where(
            Connection.id == connection_id,
            Connection.status == "linked",
            or_(Connection.refresh_claimed_until.is_(None), Connection.refresh_claimed_until < now),
        )
        .values(refresh_claimed_until=now + CLAIM_LEASE)
    )
    db.session.commit()
    return bool(claimed.rowcount == 1)  # type: ignore[attr-defined]


def _store(connection: Connection, version: int, **values: Any) -> bool:
    """Write a token change unless another process changed the tokens first.

    A status change is announced to the business in the same transaction.
    """
    stored = db.session.execute(
        update(Connection)
        .where(Connection.id == connection.id, Connection.token_version == version)
        .values(
            token_version=version + 1, refresh_claimed_until=None, updated_at=clock.now(), **values
        )
    )
    if stored.rowcount == 1 and "status" in values:  # type: ignore[attr-defined]
        emit(
            f"connection.{values['status']}",
            connection.customer_id,
            **connection_ids(connection),
            reason=values.get("last_error"),
        )
    db.session.commit()
    return bool(stored.rowcount == 1)  # type: ignore[attr-defined]


# The vendor fields that say when a refresh token stops working for good, first found wins:
# Intuit's five-year hard expiry (asked for with x-include-refresh-token-hard-expires-in),
# then Sage's and FreeAgent's refresh_token_expires_in.
REFRESH_EXPIRY_FIELDS = ("x_refresh_token_hard_expires_in", "refresh_token_expires_in")


def refresh_expiry(token: Mapping[str, Any], platform: str) -> datetime | None:
    """When the refresh token of ``token`` (a token response) expires for good: from the
    vendor's own field, else the catalogue's ``refresh_token_days``; None if nobody says."""
    for name in REFRESH_EXPIRY_FIELDS:
        seconds = token.get(name)
        if isinstance(seconds, int | float) or (isinstance(seconds, str) and seconds.isdigit()):
            return clock.now() + timedelta(seconds=int(seconds))
    known = get_platform(platform)
    if known is not None and known.refresh_token_days:
        return clock.now() + timedelta(days=known.refresh_token_days)
    return None


def refresh_connection(
    connection_id: int,
    lead: timedelta = REFRESH_LEAD,
    *,
    force: bool = False,
    refused_as: str = "refresh_refused",
) -> str:
    """Refresh one connection's tokens; returns refreshed, deauthorized, failed or skipped.

    ``force``: refresh whenever the access token expires (a platform refused it early).
    A refusal (invalid_grant) ends the connection as ``refused_as``, or as
    ``refresh_expired`` once the refresh token's absolute expiry has passed.
    """
    connection = current(connection_id) if claim(connection_id) else None
    if connection is None:
        return "skipped"
    version = connection.token_version
    expires = connection.token_expires_at
    provider = provider_config(connection.platform)
    if (
        expires is None
        or (expires > clock.now() + lead and not force)
        or provider is None
        or not connection.token_ciphertext
    ):
        release(connection)
        return "skipped"
    token = decrypt_json(connection.token_ciphertext)
    try:
        fresh = refresh_tokens(provider, str(token.get("refresh_token") or ""))
    except ProviderError as exc:
        if exc.reason == "refresh_refused":
            expired = connection.refresh_expires_at
            reason = "refresh_expired" if expired and expired <= clock.now() else refused_as
            ended = end_connection(
                connection,
                version,
                reason,
                exc.detail,
                last_provider_request_id=provider.last_request_id,
            )
            return "deauthorized" if ended else "skipped"
        release(connection, exc.detail)
        return "failed"
    # Some providers keep the refresh token and return none: keep ours then, and its
    # expiry, unless the answer says otherwise.
    kept = fresh.get("refresh_token") in (None, token.get("refresh_token"))
    fresh.setdefault("refresh_token", token.get("refresh_token"))
    told = any(name in fresh for name in REFRESH_EXPIRY_FIELDS)
    refresh_expires = (
        connection.refresh_expires_at
        if kept and not told
        else refresh_expiry(fresh, connection.platform)
    )
    expires_in = fresh.get("expires_in")
    stored = _store(
        connection,
        version,
        token_ciphertext=encrypt_json(fresh),
        token_expires_at=clock.now() + timedelta(seconds=int(expires_in)) if expires_in else None,
        last_refreshed_at=clock.now(),
        refresh_expires_at=refresh_expires,
        last_error=None,
        last_error_detail=None,
        last_provider_request_id=provider.last_request_id,
    )
    return "refreshed" if stored else "skipped"


def end_connection(
    connection: Connection, version: int, reason: str, detail: str, **also: Any
) -> bool:
    """The connection needs its customer: ``deauthorized`` with ``reason``, tokens gone,
    announced as connection.deauthorized. False when another process changed its tokens
    since ``version`` was read (and nothing is written). ``also``: further columns."""
    return _store(
        connection,
        version,
        status="deauthorized",
        token_ciphertext=None,
        token_expires_at=None,
        last_error=reason,
        last_error_detail=detail[:500],
        ended_at=clock.now(),
        **also,
    )


def release(connection: Connection, detail: str | None = None) -> None:
    """End the lease ``claim`` took, committing what the session holds with it."""
    values: dict[str, Any] = {"refresh_claimed_until": None}
    if detail:
        values["last_error_detail"] = detail[:500]
    db.session.execute(update(Connection).where(Connection.id == connection.id).values(**values))
    db.session.commit()


def refresh_due(lead: timedelta = REFRESH_LEAD) -> Counter[str]:
    """Refresh every connection that is due; counts of each outcome."""
    return Counter(refresh_connection(cid, lead) for cid in due_for_refresh(lead))


def disconnect(connection: Connection) -> bool:
    """Revoke at the provider where it can, then forget the tokens.

    Returns whether the provider confirmed the revocation; the connection is
    disconnected either way, since the customer or business asked for it.
    """
    revoked = True
    provider = provider_config(connection.platform)
    if provider is not None and connection.token_ciphertext:
        try:
            revoke_tokens(provider, decrypt_json(connection.token_ciphertext))
        except ProviderError as exc:
            revoked = False
            connection.last_error_detail = exc.detail[:500]
    if connection.status != "disconnected":
        emit("connection.disconnected", connection.customer_id, **connection_ids(connection))
    connection.status = "disconnected"
    connection.token_ciphertext = None
    connection.token_expires_at = None
    connection.ended_at = clock.now()
    connection.token_version += 1
    db.session.commit()
    return revoked


def disconnect_audited(
    connection: Connection, actor_type: str, actor_id: str, because: str | None = None
) -> bool:
    """``disconnect`` at someone's request, with the audit entry committed alongside it.

    ``because`` names what caused it (a consent record's public id), if not a direct ask.
    Returns whether the provider confirmed the revocation.
    """
    after = {"status": "disconnected"}
    if because:
        after["because"] = because
    audit.record(
        actor_type,
        actor_id,
        "connection.disconnect",
        "connection",
        connection.public_id,
        {"status": connection.status},
        after,
    )
    return disconnect(connection)


def rotate_encryption_key() -> int:
    """Re-encrypt every stored secret (tokens, PKCE verifiers, webhook signing secrets,
    customers' data keys) with the first configured key; returns how many."""
    fernet = keys()
    count = 0
    for connection in db.session.scalars(select(Connection)):
        if connection.token_ciphertext:
            connection.token_ciphertext = fernet.rotate(
                connection.token_ciphertext.encode()
            ).decode()
            count += 1
    for flow in db.session.scalars(select(OAuthFlow)):
        flow.code_verifier_ciphertext = fernet.rotate(
            flow.code_verifier_ciphertext.encode()
        ).decode()
        count += 1
    # Webhook signing secrets and customers' data keys are kept with the same keys.
    count += webhook_endpoints.rotate_encryption_key()
    for customer in db.session.scalars(select(Customer)):
        if customer.data_key_ciphertext:
            rotated = fernet.rotate(customer.data_key_ciphertext.encode())
            customer.data_key_ciphertext = rotated.decode()
            count += 1
    db.session.commit()
    return count

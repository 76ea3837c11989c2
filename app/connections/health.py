"""Noticing broken connections by ourselves: the background worker's connection care.

Every ``CONNECTION_REFRESH_CHECK_SECONDS`` the worker (app/jobs.py) retires connections
whose refresh token is past its absolute expiry, refreshes tokens ahead of expiry
(app/connections/lifecycle.py) and asks the platform of each connection that is due
(every ``CONNECTION_HEALTH_SECONDS``, or at once after a provider's webhook or Intuit's
Disconnect URL) whether the token still reaches the organisation. The question is the
platform's own organisation look-up (app/connections/oauth.py): Xero's ``/connections``,
QuickBooks' CompanyInfo for the stored realm, Sage's businesses and so on. Platforms that
name the organisation only on the redirect back (MYOB, NetSuite) have no such look-up and
are checked by their refreshes alone.

What a check finds:
- the organisation among those the token reaches: healthy;
- 401 or 403 even after a fresh token, or a refresh refused: ``revoked_at_provider``;
- the organisation missing from the answer, or 404 for it: ``organisation_removed``;
- 429, 5xx or no answer: nothing is broken; asked again next time, not before the
  platform's ``Retry-After``.

A check is safe from several processes and instances: each claims the connection first
with a conditional UPDATE of ``health_checked_at``, as refreshes claim theirs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from contextlib import suppress
from datetime import timedelta

from flask import current_app
from sqlalchemy import ColumnElement, or_, select, update

from app import clock
from app.connections import lifecycle
from app.connections.oauth import (
    ProviderConfig,
    ProviderError,
    provider_config,
    reachable_organisations,
    revoke_tokens,
)
from app.extensions import db
from app.models import Connection
from app.platforms import PLATFORMS, Platform
from app.vault import decrypt_json
from app.webhooks.delivery import parse_retry_after

# Why a linked connection came to need its customer: the ``last_error`` of a deauthorized
# connection and the ``reason`` of its connection.deauthorized event, in plain words.
BREAK_REASONS = {
    "refresh_refused": "the platform refused to renew access: the app was disconnected "
    "there, or its approval lapsed",
    "revoked_at_provider": "access was withdrawn at the platform: the app was disconnected "
    "there by the customer or one of their colleagues",
    "organisation_removed": "the platform no longer lets this connection reach the "
    "organisation: it was removed, or the app's access to it was",
    "refresh_expired": "the approval reached the platform's time limit: the customer needs "
    "to approve access again",
}
# The longest a platform's Retry-After postpones a check.
MAX_WAIT = timedelta(days=1)
# Connections checked per pass: a long list is worked through over several passes, so
# that webhook deliveries in the same loop are not held up.
BATCH = 50


def checked_by_lookup(platform: Platform) -> bool:
    """Whether the platform has an organisation look-up to ask (else: refreshes alone)."""
    spec = platform.organisation
    if spec.strategy == "redirect_param":
        return spec.name_url is not None
    return spec.strategy != "token_field"


def _interval() -> timedelta:
    return timedelta(seconds=float(current_app.config["CONNECTION_HEALTH_SECONDS"]))


def _due() -> ColumnElement[bool]:
    return or_(
        Connection.health_checked_at.is_(None),
        Connection.health_checked_at <= clock.now() - _interval(),
    )


def due_for_check(limit: int = BATCH) -> list[int]:
    """Linked connections whose platform is due to be asked, longest unasked first."""
    checkable = [key for key, platform in PLATFORMS.items() if checked_by_lookup(platform)]
    return list(
        db.session.scalars(
            select(Connection.id)
            .where(Connection.status == "linked", Connection.platform.in_(checkable), _due())
            .order_by(Connection.health_checked_at.is_not(None), Connection.health_checked_at)
            .limit(limit)
        )
    )


def _claim(connection_id: int) -> bool:
    claimed = db.session.execute(
        update(Connection)
        .where(Connection.id == connection_id, Connection.status == "linked", _due())
        .values(health_checked_at=clock.now())
    )
    db.session.commit()
    return bool(claimed.rowcount == 1)  # type: ignore[attr-defined]


def check_connection(connection_id: int) -> str:
    """Ask the platform whether this connection still reaches its organisation; returns
    healthy, deauthorized, unreachable (try later) or skipped (not due, or not ours)."""
    connection = lifecycle.current(connection_id) if _claim(connection_id) else None
    if connection is None:
        return "skipped"
    provider = provider_config(connection.platform)
    if provider is None or not connection.token_ciphertext:
        return "skipped"
    fresh = False
    expires = connection.token_expires_at
    if expires is not None and expires <= clock.now() + lifecycle.REFRESH_LEAD:
        outcome = lifecycle.refresh_connection(connection_id, refused_as="revoked_at_provider")
        if outcome != "refreshed":
            return "deauthorized" if outcome == "deauthorized" else "unreachable"
        fresh = True
    while True:
        db.session.refresh(connection)
        try:
            reached = _reached(provider, connection)
        except ProviderError as exc:
            if exc.status in (401, 403) and not fresh:
                # Perhaps only this access token: a refresh says whether the grant lives.
                outcome = lifecycle.refresh_connection(
                    connection_id, force=True, refused_as="revoked_at_provider"
                )
                if outcome != "refreshed":
                    return "deauthorized" if outcome == "deauthorized" else "unreachable"
                fresh = True
                continue
            if exc.status in (401, 403):
                return _break(connection, "revoked_at_provider", exc.detail)
            if exc.status == 404:
                return _break(connection, "organisation_removed", exc.detail)
            _postpone(connection, exc.retry_after)
            return "unreachable"
        if connection.org_id in reached:
            return "healthy"
        return _break(connection, "organisation_removed", "the organisation is not listed")


def _reached(provider: ProviderConfig, connection: Connection) -> set[str]:
    """The ids of the organisations the connection's token reaches now."""
    token = decrypt_json(connection.token_ciphertext or "")
    # Where the redirect back named the organisation, the look-up is for that one.
    named = {provider.organisation.id: connection.org_id or ""}
    return {org.id for org in reachable_organisations(provider, token, named)}


def _break(connection: Connection, reason: str, detail: str) -> str:
    """End the connection as ``reason``; an organisation's access that still works is
    handed back to the platform (best effort)."""
    token = decrypt_json(connection.token_ciphertext) if connection.token_ciphertext else None
    if not lifecycle.end_connection(connection, connection.token_version, reason, detail):
        return "skipped"
    provider = provider_config(connection.platform)
    if reason == "organisation_removed" and provider is not None and token:
        with suppress(ProviderError):
            revoke_tokens(provider, token)
    return "deauthorized"


def _postpone(connection: Connection, retry_after: str | None) -> None:
    """Not before the platform's Retry-After: the next check waits that long, not the
    usual interval (health_checked_at is set so that it falls due then)."""
    wait = parse_retry_after(retry_after, clock.now())
    if wait is None:
        return
    due_at = clock.now() + min(wait, MAX_WAIT)
    db.session.execute(
        update(Connection)
        .where(Connection.id == connection.id)
        .values(health_checked_at=due_at - _interval())
    )
    db.session.commit()


def check_due() -> Counter[str]:
    """Check every connection that is due (up to BATCH); counts of each outcome."""
    return Counter(check_connection(cid) for cid in due_for_check())


def expire_refresh_tokens() -> int:
    """End every linked connection whose refresh token is past its absolute expiry as
    ``refresh_expired``; returns how many."""
    expired = db.session.scalars(
        select(Connection).where(
            Connection.status == "linked",
            Connection.refresh_expires_at.is_not(None),
            Connection.refresh_expires_at <= clock.now(),
        )
    ).all()
    detail = "the refresh token passed its absolute expiry"
    return sum(
        lifecycle.end_connection(connection, connection.token_version, "refresh_expired", detail)
        for connection in expired
    )


def check_soon(platform: str, org_ids: Iterable[str]) -> list[Connection]:
    """Make the linked connections to these organisations due for a check now (a platform
    said something changed there); returns them."""
    org_ids = list(org_ids)
    if not org_ids:
        return []
    where = (
        Connection.platform == platform,
        Connection.org_id.in_(org_ids),
        Connection.status == "linked",
    )
    db.session.execute(update(Connection).where(*where).values(health_checked_at=None))
    db.session.commit()
    return list(db.session.scalars(select(Connection).where(*where)))


def care_for_connections() -> Counter[str]:
    """One pass of the worker's connection care: retire expired refresh tokens, refresh
    what expires soon, check what is due; counts of each outcome."""
    outcomes: Counter[str] = Counter()
    outcomes["refresh_expired"] += expire_refresh_tokens()
    for name, count in lifecycle.refresh_due().items():
        outcomes[f"refresh_{name}"] += count
    for name, count in check_due().items():
        outcomes[f"check_{name}"] += count
    return +outcomes

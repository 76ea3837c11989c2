"""A working credential for a linked connection, for the business's data pipeline.

The access token is refreshed first when it expires within the lead time, so the
caller always gets one it can use for a while. Refreshing goes through the lifecycle
(claim, rotate once, store), so several callers at once refresh only once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from app import clock
from app.connections.lifecycle import REFRESH_LEAD, refresh_connection
from app.extensions import db
from app.models import Connection
from app.vault import decrypt_json


class CredentialUnavailable(Exception):
    """No usable token: ``reason`` is not_linked, deauthorized or provider_unavailable."""

    def __init__(self, reason: str, status: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class Credential:
    access_token: str
    token_type: str
    expires_at: datetime | None
    organisation_id: str | None
    organisation_details: dict[str, str]
    platform: str
    refreshed: bool


def current_credential(connection: Connection, lead: timedelta = REFRESH_LEAD) -> Credential:
    """The connection's access token, refreshed first when it expires within ``lead``.

    Raises :class:`CredentialUnavailable` when the connection is not linked, when the
    platform refused the refresh (the customer must reconnect), or when the token has
    expired and the platform could not be reached to refresh it.
    """
    if connection.status != "linked" or not connection.token_ciphertext:
        raise CredentialUnavailable("not_linked", connection.status)
    refreshed = False
    expires = connection.token_expires_at
    if expires is not None and expires <= clock.now() + lead:
        outcome = refresh_connection(connection.id, lead)
        refreshed = outcome == "refreshed"
        db.session.refresh(connection)
        if outcome == "deauthorized" or connection.status != "linked":
            raise CredentialUnavailable("deauthorized", connection.status)
        expires = connection.token_expires_at
        # Refreshing failed (or another process holds the claim) and the old token is over.
        if not connection.token_ciphertext or (expires is not None and expires <= clock.now()):
            raise CredentialUnavailable("provider_unavailable", connection.status)
    token = decrypt_json(connection.token_ciphertext or "")
    return Credential(
        access_token=str(token["access_token"]),
        token_type=str(token.get("token_type") or "Bearer"),
        expires_at=expires,
        organisation_id=connection.org_id,
        organisation_details=dict(connection.org_details or {}),
        platform=connection.platform,
        refreshed=refreshed,
    )

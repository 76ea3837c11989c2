"""Connected apps: the organisations the test user has let Onramp read, and revoking them.

Like a real platform's "Connected apps" page, revoking is per organisation: every
token issued for it ends at once, so the app's next refresh is refused (invalid_grant)
and its next API call answers 401.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from app.sandbox import storage
from app.sandbox.data import ORGANISATIONS, Organisation, find_organisation
from app.sandbox.models import SandboxToken
from app.sandbox.storage import utcnow


@dataclass(frozen=True)
class Grant:
    """One organisation an app can read, and when it last received a token for it."""

    organisation: Organisation
    client_id: str
    scope: str
    last_issued_at: datetime


def _live(token: SandboxToken) -> bool:
    """Whether the token still lets the app in: a usable refresh or access token."""
    refresh_live = token.refresh_token is not None and token.refresh_token_revoked_at is None
    access_live = token.access_token_revoked_at is None and not token.is_expired()
    return refresh_live or access_live


def granted(email: str) -> list[Grant]:
    """The organisations ``email`` has granted, in the order the sandbox lists them."""
    latest: dict[str, SandboxToken] = {}
    for token in storage.session().scalars(select(SandboxToken).filter_by(user_email=email)):
        if not _live(token):
            continue
        seen = latest.get(token.organisation_id)
        if seen is None or token.issued_at > seen.issued_at:
            latest[token.organisation_id] = token
    return [
        Grant(org, newest.client_id, newest.scope, newest.issued_at)
        for org in ORGANISATIONS
        if (newest := latest.get(org.id)) is not None
    ]


def revoke(email: str, organisation_id: str) -> Organisation | None:
    """End every token ``email`` granted for the organisation; None if there is no such one.

    Revoking again changes nothing: times already set are kept.
    """
    organisation = find_organisation(organisation_id)
    if organisation is None:
        return None
    now = utcnow()
    mine = (SandboxToken.user_email == email, SandboxToken.organisation_id == organisation_id)
    storage.session().execute(
        update(SandboxToken)
        .where(*mine, SandboxToken.access_token_revoked_at.is_(None))
        .values(access_token_revoked_at=now)
    )
    storage.session().execute(
        update(SandboxToken)
        .where(
            *mine,
            SandboxToken.refresh_token.is_not(None),
            SandboxToken.refresh_token_revoked_at.is_(None),
        )
        .values(refresh_token_revoked_at=now)
    )
    storage.session().commit()
    return organisation

"""Connected apps: the organisations the test user has let Onramp read, and revoking them.

Like a real platform's "Connected apps" page, revoking is per organisation: every
token issued for it ends at once, so the app's next refresh is refused (invalid_grant)
and its next API call answers 401. Grants are kept apart by dialect: access given to
"Xero" is not access given to "Sage".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, select, update

from app.sandbox import storage
from app.sandbox.data import ORGANISATIONS, Organisation, find_organisation
from app.sandbox.dialects import DIALECTS, NATIVE
from app.sandbox.models import SandboxToken
from app.sandbox.storage import utcnow


@dataclass(frozen=True)
class Grant:
    """One organisation an app can read, and when it last received a token for it."""

    organisation: Organisation
    client_id: str
    scope: str
    last_issued_at: datetime
    dialect: str = NATIVE
    # The approval the newest token comes from, and when it was given.
    grant_id: str = ""
    granted_at: datetime | None = None


def _live(token: SandboxToken) -> bool:
    """Whether the token still lets the app in: a usable refresh or access token."""
    refresh_live = token.refresh_token is not None and token.refresh_token_revoked_at is None
    access_live = token.access_token_revoked_at is None and not token.is_expired()
    return refresh_live or access_live


def granted(email: str, dialect: str | None = None) -> list[Grant]:
    """The organisations ``email`` has granted, per dialect (all, or the one given), in
    the order the sandbox lists dialects and organisations."""
    query = select(SandboxToken).filter_by(user_email=email)
    if dialect is not None:
        query = query.filter_by(dialect=dialect)
    latest: dict[tuple[str, str], SandboxToken] = {}
    for token in storage.session().scalars(query):
        if not _live(token):
            continue
        seen = latest.get((token.dialect, token.organisation_id))
        if seen is None or token.issued_at > seen.issued_at:
            latest[(token.dialect, token.organisation_id)] = token
    return [
        Grant(
            org,
            newest.client_id,
            newest.scope,
            newest.issued_at,
            key,
            newest.grant_id,
            newest.granted_at,
        )
        for key in DIALECTS
        for org in ORGANISATIONS
        if (newest := latest.get((key, org.id))) is not None
    ]


def revoke(email: str, organisation_id: str, dialect: str | None = None) -> Organisation | None:
    """End every token ``email`` granted for the organisation, in one dialect or in all;
    None if there is no such organisation.

    Revoking again changes nothing: times already set are kept.
    """
    organisation = find_organisation(organisation_id)
    if organisation is None:
        return None
    mine = [SandboxToken.user_email == email, SandboxToken.organisation_id == organisation_id]
    if dialect is not None:
        mine.append(SandboxToken.dialect == dialect)
    _end(*mine)
    return organisation


def end_grant(grant_id: str) -> None:
    """End the approval ``grant_id``: every token issued for it or refreshed from it."""
    _end(SandboxToken.grant_id == grant_id)


def revoke_token(dialect: str, token_string: str) -> bool:
    """A vendor's revocation endpoint: revoking a refresh token ends its whole approval,
    an access token only itself. False when the token is no live token of ``dialect``
    (unknown, or already ended), which these vendors refuse."""
    session = storage.session()
    by_refresh = session.scalar(
        select(SandboxToken).filter_by(dialect=dialect, refresh_token=token_string)
    )
    if by_refresh is not None:
        if by_refresh.refresh_token_revoked_at is not None:
            return False
        end_grant(by_refresh.grant_id)
        return True
    by_access = session.scalar(
        select(SandboxToken).filter_by(dialect=dialect, access_token=token_string)
    )
    if by_access is None or by_access.access_token_revoked_at is not None:
        return False
    by_access.access_token_revoked_at = utcnow()
    session.commit()
    return True


def _end(*which: ColumnElement[bool]) -> None:
    now = utcnow()
    storage.session().execute(
        update(SandboxToken)
        .where(*which, SandboxToken.access_token_revoked_at.is_(None))
        .values(access_token_revoked_at=now)
    )
    storage.session().execute(
        update(SandboxToken)
        .where(
            *which,
            SandboxToken.refresh_token.is_not(None),
            SandboxToken.refresh_token_revoked_at.is_(None),
        )
        .values(refresh_token_revoked_at=now)
    )
    storage.session().commit()

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
from app.sandbox.data import ORGANISATIONS, Organisation, find_organisation, organisations_of
from app.sandbox.dialects import DIALECTS, NATIVE
from app.sandbox.storage import utcnow
from app.sandbox.tables import SandboxGrantChange, SandboxToken


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
    # Set from the Connected apps page: when its refresh token stops working, and
    # whether its organisation was removed.
    refresh_expires_at: datetime | None = None
    organisation_removed: bool = False


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
    changed = changes([token.grant_id for token in latest.values()])
    return [
        Grant(
            org,
            newest.client_id,
            newest.scope,
            newest.issued_at,
            key,
            newest.grant_id,
            newest.granted_at,
            change.refresh_expires_at if change else None,
            bool(change and change.organisation_removed_at),
        )
        for key in DIALECTS
        for org in ORGANISATIONS
        if (newest := latest.get((key, org.id))) is not None
        for change in [changed.get(newest.grant_id)]
    ]


def changes(grant_ids: list[str]) -> dict[str, SandboxGrantChange]:
    """What the tester changed of these approvals, by approval."""
    if not grant_ids:
        return {}
    found = storage.session().scalars(
        select(SandboxGrantChange).where(SandboxGrantChange.grant_id.in_(grant_ids))
    )
    return {change.grant_id: change for change in found}


def _change(grant_id: str) -> SandboxGrantChange:
    change = storage.session().get(SandboxGrantChange, grant_id)
    if change is None:
        change = SandboxGrantChange(grant_id=grant_id)
        storage.session().add(change)
    return change


def expire_refresh_token(grant_id: str, at: datetime) -> None:
    """From ``at`` on, the approval's refresh tokens are refused (invalid_grant), and
    until then every token response says when (where the vendor says so at all)."""
    _change(grant_id).refresh_expires_at = at
    storage.session().commit()


def remove_organisation(grant_id: str) -> None:
    """The approval's organisation is gone: the look-ups stop listing it and its API
    answers as the vendor does for a company it no longer has; the tokens still work."""
    _change(grant_id).organisation_removed_at = utcnow()
    storage.session().commit()


def refresh_expires_at(grant_id: str) -> datetime | None:
    """When the approval's refresh tokens stop working, if the tester said so."""
    change = storage.session().get(SandboxGrantChange, grant_id)
    return change.refresh_expires_at if change is not None else None


def organisation_removed(grant_id: str) -> bool:
    """Whether the tester removed the approval's organisation."""
    change = storage.session().get(SandboxGrantChange, grant_id)
    return change is not None and change.organisation_removed_at is not None


def visible_organisations(token: SandboxToken) -> tuple[Organisation, ...]:
    """The organisations a look-up with ``token`` lists: those of the user who approved,
    all but its own once removed."""
    mine = organisations_of(token.user_email)
    if not organisation_removed(token.grant_id):
        return mine
    return tuple(org for org in mine if org.id != token.organisation_id)


def find_grant(email: str, grant_id: str) -> Grant | None:
    """The live approval ``grant_id`` of ``email``, if there is one."""
    return next((grant for grant in granted(email) if grant.grant_id == grant_id), None)


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

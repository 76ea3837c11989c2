"""Admin console sessions, kept on the server.

Flask's session cookie is signed, not stored: without a server-side record, a copy of
it keeps working after sign-out for as long as it is presented. So the cookie holds
only a random token (through Flask-Login's user id), and the database holds its hash
with the colleague, when it was last used, and when it ended. Signing out ends one
session; a new password, a new role or deactivation ends all of the colleague's;
an idle one ends when next presented. An ended session never comes back.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import request
from sqlalchemy import delete, select, update

from app import clock
from app.admin.throttle import KNOWN_ADDRESS_FOR, address_key
from app.extensions import db
from app.models import AdminSession

# How often a session's last use is written down: often enough to measure idleness,
# rarely enough that reading pages does not mean writing to the database each time.
TOUCH_EVERY = timedelta(minutes=1)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(user_id: int, address: str | None) -> tuple[AdminSession, str]:
    """A new session for the colleague and its token (for the cookie). The caller commits."""
    now = clock.now()
    # Sessions unused for longer are of no more use, not even to recognise an address.
    db.session.execute(
        delete(AdminSession).where(
            AdminSession.user_id == user_id, AdminSession.last_seen_at < now - KNOWN_ADDRESS_FOR
        )
    )
    token = secrets.token_urlsafe(32)
    record = AdminSession(
        token_hash=_hash(token),
        user_id=user_id,
        address_key=address_key(address),
        created_at=now,
        last_seen_at=now,
    )
    db.session.add(record)
    db.session.flush()
    return record, token


def find(token: str) -> AdminSession | None:
    """The session this token opens, unless it has ended."""
    return db.session.scalars(
        select(AdminSession).where(
            AdminSession.token_hash == _hash(token), AdminSession.revoked_at.is_(None)
        )
    ).first()


def keep_alive(session_id: int, last_seen: datetime, now: datetime, idle: timedelta) -> bool:
    """Note that the session is in use; False (and the session ended) when it sat idle too long."""
    if now - last_seen > idle:
        end(session_id, now)
        db.session.commit()
        return False
    if now - last_seen >= TOUCH_EVERY:
        db.session.execute(
            update(AdminSession)
            .where(AdminSession.id == session_id, AdminSession.revoked_at.is_(None))
            .values(last_seen_at=now)
        )
        db.session.commit()
    return True


def end(session_id: int, now: datetime | None = None) -> None:
    """End one session (signing out). The caller commits."""
    db.session.execute(
        update(AdminSession)
        .where(AdminSession.id == session_id, AdminSession.revoked_at.is_(None))
        .values(revoked_at=now or clock.now())
    )


def end_all(user_id: int) -> None:
    """End every session of the colleague, on every device. The caller commits."""
    db.session.execute(
        update(AdminSession)
        .where(AdminSession.user_id == user_id, AdminSession.revoked_at.is_(None))
        .values(revoked_at=clock.now())
    )


def browser_identifier() -> str:
    """Flask-Login's "strong" session protection binds a session to this: the client's
    address (as ProxyFix established it, see ONRAMP_TRUSTED_PROXIES) and user agent.

    Flask-Login 0.6.3's own reads X-Forwarded-For, which any client can write
    (maxcountryman/flask-login#700, fixed by #821 but not released).
    """
    base = f"{request.remote_addr}|{request.headers.get('User-Agent')}"
    return hashlib.sha512(base.encode()).hexdigest()

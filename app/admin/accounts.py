"""Admin accounts: Argon2id password hashes, roles and what each role may do."""

from __future__ import annotations

import contextlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from flask_login import UserMixin
from sqlalchemy import func, select

from app import audit, clock
from app.admin import sessions, throttle
from app.extensions import db
from app.models import User

ROLES = ("admin", "editor", "support", "advisor", "viewer")
ROLE_LABELS = {
    "admin": "Admin — everything, including users, API keys and webhooks",
    "editor": "Editor — journeys",
    "support": "Support — customers, links and notes",
    "advisor": "Advisor — adds customers and sends them links; changes no settings",
    "viewer": "Viewer — read only",
}
# The roles "sees only their own customers" applies to; admins and editors always see all.
RESTRICTABLE_ROLES = ("support", "viewer", "advisor")

# What each role may do. Every admin route names the permission it needs (see guard.py).
#   read              customers, consents, the overview and help
#   settings.read     the journeys, webhooks and go-live screens (settings, even read only)
#   customers.create  add a customer in the console
#   links.send        create a journey or reconnect link for a customer
#   customers.act     disconnect, revoke a delegation, add a note
#   customers.assign  choose the colleague a customer is assigned to
#   journeys.edit, users.manage, api_keys.manage, webhooks.manage, audit.read: as named
_READ = frozenset({"read", "settings.read"})
_SUPPORT = frozenset({"customers.create", "links.send", "customers.act", "customers.assign"})
PERMISSIONS: dict[str, frozenset[str]] = {
    "viewer": _READ,
    "advisor": frozenset({"read", "customers.create", "links.send"}),
    "support": _READ | _SUPPORT,
    "editor": _READ | {"journeys.edit"},
    "admin": _READ
    | _SUPPORT
    | {"journeys.edit", "users.manage", "api_keys.manage", "webhooks.manage", "audit.read"},
}

_hasher = PasswordHasher()
# Verified when the email is unknown, so that a wrong email takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class AccountError(ValueError):
    """A user that cannot be created as asked; the message says why."""


@dataclass
class SignedIn(UserMixin):
    """The Flask-Login user: the account and the server-side session, no ORM row."""

    user_id: int
    email: str
    role: str
    session_id: int
    # The session's token: what Flask-Login keeps in the cookie (see sessions.py).
    token: str
    last_seen_at: datetime
    # Set on the account (the Users page); what it means is ``sees_only_own``.
    own_customers_only: bool = False

    def get_id(self) -> str:
        return self.token

    def can(self, permission: str) -> bool:
        return permission in PERMISSIONS.get(self.role, frozenset())

    @property
    def sees_only_own(self) -> bool:
        """Whether this colleague sees only the customers assigned to them."""
        return self.own_customers_only and self.role in RESTRICTABLE_ROLES


def open_session(user: User, address: str | None) -> SignedIn:
    """Start a server-side session for the colleague. The caller commits."""
    record, token = sessions.start(user.id, address)
    return _signed_in(user, record.id, token, record.last_seen_at)


def _signed_in(user: User, session_id: int, token: str, last_seen_at: datetime) -> SignedIn:
    return SignedIn(
        user.id, user.email, user.role, session_id, token, last_seen_at, user.own_customers_only
    )


def load_session_user(token: str) -> SignedIn | None:
    """Flask-Login's user loader: the colleague, if their account is active and this
    session has not ended."""
    record = sessions.find(token)
    if record is None:
        return None
    user = db.session.get(User, record.user_id)
    if user is None or not user.active:
        return None
    return _signed_in(user, record.id, token, record.last_seen_at)


def normalise_email(email: str) -> str:
    try:
        return str(validate_email(email, check_deliverability=False).normalized).lower()
    except EmailNotValidError as exc:
        raise AccountError(str(exc)) from exc


def find_user(email: str) -> User | None:
    return db.session.scalars(
        select(User).where(func.lower(User.email) == email.strip().lower())
    ).first()


def create_user(
    email: str,
    role: str,
    password: str | None = None,
    sso_only: bool = False,
    own_customers_only: bool = False,
) -> tuple[User, str]:
    """Add an account; returns it and its password (generated when none is given).

    A ``sso_only`` account has no password: it signs in through single sign-on only.
    ``own_customers_only``: the colleague sees only the customers assigned to them.
    The caller commits.
    """
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r} (roles: {', '.join(ROLES)})")
    address = normalise_email(email)
    if find_user(address) is not None:
        raise AccountError(f"{address} already has an account")
    if sso_only:
        user = User(
            email=address, role=role, password_hash=None, own_customers_only=own_customers_only
        )
        db.session.add(user)
        db.session.flush()
        return user, ""
    password = password or secrets.token_urlsafe(12)
    if len(password) < 12:
        raise AccountError("passwords must be at least 12 characters long")
    user = User(
        email=address,
        role=role,
        password_hash=_hasher.hash(password),
        own_customers_only=own_customers_only,
    )
    db.session.add(user)
    db.session.flush()
    return user, password


def authenticate(email: str, password: str) -> User | None:
    """The active account these credentials open, or None. Rehashes outdated hashes."""
    user = find_user(email)
    if user is None or not user.active or not user.password_hash:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password)
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.last_login_at = clock.now()
    return user


def password_sign_in(email: str, password: str, address: str | None) -> User | None:
    """The account a sign-in form opens, or None; throttled per account and address.

    Raises ``throttle.Throttled`` (the password unchecked) when the attempt must wait.
    """
    attempt = throttle.begin_attempt(email, address)
    user = authenticate(email, password)
    if user is not None:
        throttle.forget(attempt)
    return user


def set_password(user: User, password: str) -> None:
    """Give the account a new password; its sessions end on every device. The caller commits."""
    if len(password) < 12:
        raise AccountError("passwords must be at least 12 characters long")
    user.password_hash = _hasher.hash(password)
    sessions.end_all(user.id)


def change_role(user: User, role: str) -> None:
    """Give the account another role; its sessions end, so it applies at once."""
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r} (roles: {', '.join(ROLES)})")
    if role != user.role:
        user.role = role
        sessions.end_all(user.id)


def set_own_customers_only(user: User, value: bool) -> bool:
    """Limit the colleague to their own customers, or not; applies at their next request
    (their sessions read the account each time). Returns whether it changed."""
    if user.own_customers_only == value:
        return False
    user.own_customers_only = value
    return True


def deactivate(user: User) -> None:
    """Stop the account signing in; its sessions end on every device. The caller commits."""
    user.active = False
    sessions.end_all(user.id)


# The audit action of a refused sign-in: the overview's figure counts these entries.
FAILED_SIGN_IN = "user.login_failed"


def failed_sign_in(email: str | None, via: str) -> None:
    """Audit a refused sign-in, naming the account tried when it is one of the console's:
    whatever else was typed (a stranger's address, a password in the wrong box) is not
    kept. Commits (after rolling back whatever the attempt left)."""
    db.session.rollback()
    try:
        tried = normalise_email(email) if email else None
    except AccountError:
        tried = None
    known = tried is not None and db.session.scalar(select(User.id).where(User.email == tried))
    actor = tried if known and tried is not None else "unknown account"
    audit.record("visitor", actor, FAILED_SIGN_IN, None, None, None, {"via": via})
    db.session.commit()

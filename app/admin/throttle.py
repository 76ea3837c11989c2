"""Password sign-in throttling for the admin console, shared through the database.

Every worker and every instance reads and writes the same table, so the limits hold
however many processes serve the console, with or without Redis (Flask-Limiter's
``limits`` storages have no SQL backend, and its in-memory default is per process).

Three counts of recent failures (the last 24 hours), each with exponential backoff:
after ``free`` failures, the next attempt waits ``base * 2**(failures - free)``
seconds from the latest failure, never more than ``cap``:

- **this account from this address**: someone guessing one colleague's password from
  one place. Only that pair slows down: the colleague signing in from anywhere else is
  not touched, and a successful sign-in forgets the pair's earlier mistakes.
- **this address, any account**: one place trying many accounts (password spraying).
- **this account, from how many different addresses**: someone changing address to
  escape the first count. Each new failing address doubles the wait for the account
  as a whole. The colleague's own addresses (any they signed in from in the last 30
  days) are exempt from this count, so that an attacker spread over many addresses
  cannot lock the real colleague out; from a new address they wait their turn (at most
  ``cap``), and single sign-on is never throttled here.

One attacker address therefore never slows the colleague at another, and an attacker
with many addresses is held to about one guess per ``cap`` per account.

An attempt is counted before the password is checked (and uncounted if it was right),
so parallel requests see each other; a throttled attempt is refused before the password
is checked and is not counted. Unknown and known emails are counted alike, so the
answers say nothing about which accounts exist. Emails and addresses are stored only
as keyed hashes (HMAC with the app's secret key). IPv6 addresses count per /64
network, the smallest block a single subscriber is usually given.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, distinct, func, select

from app import clock
from app.extensions import db
from app.models import AdminSession, SignInFailure, User

WINDOW = timedelta(hours=24)
# Sessions started from an address in this period make it one of the colleague's own.
KNOWN_ADDRESS_FOR = timedelta(days=30)


@dataclass(frozen=True)
class Backoff:
    free: int
    base_seconds: int
    cap_seconds: int

    def wait(self, failures: int) -> int:
        """Seconds to wait after the latest of ``failures`` failures."""
        if failures < self.free:
            return 0
        doublings = min(failures - self.free, 32)  # past the cap long before 2**32
        return int(min(self.cap_seconds, self.base_seconds * 2**doublings))


PER_ACCOUNT_AND_ADDRESS = Backoff(free=3, base_seconds=5, cap_seconds=15 * 60)
# An office behind one address has several colleagues who mistype.
PER_ADDRESS = Backoff(free=10, base_seconds=5, cap_seconds=15 * 60)
# Counts distinct failing addresses, not failures.
PER_ACCOUNT = Backoff(free=3, base_seconds=5, cap_seconds=15 * 60)


class Throttled(Exception):
    """Too many recent failures: try again in ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Attempt:
    """A sign-in being checked: counted as a failure until ``forget`` says otherwise."""

    account_key: str
    address_key: str


def _keyed(kind: str, value: str) -> str:
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def network_of(address: str | None) -> str:
    """The client an address stands for: itself (IPv4), or its /64 network (IPv6)."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return address or "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(ip) >> 64 << 64, 64)))
    return str(ip)


def address_key(address: str | None) -> str:
    """The keyed hash the throttle and admin sessions store for a client address."""
    return _keyed("address", network_of(address))


def account_key(email: str) -> str:
    return _keyed("account", email.strip().lower())


def _remaining(wait: int, latest: datetime | None, now: datetime) -> int:
    if not wait or latest is None:
        return 0
    return max(0, math.ceil((latest + timedelta(seconds=wait) - now).total_seconds()))


def _is_known_address(email: str, address: str, now: datetime) -> bool:
    """Whether the account of ``email`` signed in from this address lately."""
    return (
        db.session.scalar(
            select(AdminSession.id)
            .join(User, User.id == AdminSession.user_id)
            .where(
                func.lower(User.email) == email.strip().lower(),
                AdminSession.address_key == address,
                AdminSession.last_seen_at > now - KNOWN_ADDRESS_FOR,
            )
            .limit(1)
        )
        is not None
    )


def seconds_to_wait(email: str, address: str | None) -> int:
    """How long the next password attempt for ``email`` from ``address`` must wait (0: none)."""
    now = clock.now()
    account, client = account_key(email), address_key(address)
    recent = SignInFailure.failed_at > now - WINDOW
    latest = func.max(SignInFailure.failed_at)

    pair = db.session.execute(
        select(func.count(), latest).where(
            recent, SignInFailure.account_key == account, SignInFailure.address_key == client
        )
    ).one()
    here = db.session.execute(
        select(func.count(), latest).where(recent, SignInFailure.address_key == client)
    ).one()
    waits = [
        _remaining(PER_ACCOUNT_AND_ADDRESS.wait(pair[0]), pair[1], now),
        _remaining(PER_ADDRESS.wait(here[0]), here[1], now),
    ]
    if not _is_known_address(email, client, now):
        spread = db.session.execute(
            select(func.count(distinct(SignInFailure.address_key)), latest).where(
                recent, SignInFailure.account_key == account
            )
        ).one()
        waits.append(_remaining(PER_ACCOUNT.wait(spread[0]), spread[1], now))
    return max(waits)


def begin_attempt(email: str, address: str | None) -> Attempt:
    """Count a password attempt as failed before the password is checked.

    Raises ``Throttled`` when it must wait. Commits, so that every other worker sees
    the attempt while this one is still checking the password.
    """
    wait = seconds_to_wait(email, address)
    if wait:
        raise Throttled(wait)
    now = clock.now()
    attempt = Attempt(account_key(email), address_key(address))
    db.session.execute(delete(SignInFailure).where(SignInFailure.failed_at < now - WINDOW))
    db.session.add(
        SignInFailure(
            account_key=attempt.account_key, address_key=attempt.address_key, failed_at=now
        )
    )
    db.session.commit()
    return attempt


def forget(attempt: Attempt) -> None:
    """The password was right: this account's failures from this address no longer count.

    The caller commits, with the new session.
    """
    db.session.execute(
        delete(SignInFailure).where(
            SignInFailure.account_key == attempt.account_key,
            SignInFailure.address_key == attempt.address_key,
        )
    )

"""Bringing a broken connection back in one click, keeping its id.

A repair link is a signed journey link that names the connection (``reconnect=``): opened
at ``/connect/repair/<token>`` it goes straight to the platform's sign-in, accepts only
the same organisation, and re-links the same row (see ``authorization._link``). The
worker's ``send_due_reminders`` emails it to customers whose connection needs them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from app import clock
from app.connections.authorization import (
    Authorization,
    PlatformUnavailable,
    begin_connection,
    can_reconnect,
    reconnect_journey,
)
from app.engine import steps
from app.engine.versions import journey_for_run
from app.extensions import db
from app.links import make_token
from app.models import Connection, Customer, JourneyRun
from app.urls import public_url

# Why a connection needs its customer (Connection.last_error of a deauthorized one), or
# that its access runs out soon.
EXPIRING = "expiring"

# What broke, in the customer's words (their page and the repair email).
REASON_WORDS: dict[str, LazyString] = {
    "refresh_refused": _l("your accounting software stopped accepting our access"),
    "revoked_at_provider": _l("access was removed in your accounting software"),
    "organisation_removed": _l("the organisation can no longer be reached with the sign-in used"),
    "refresh_expired": _l("access reached the longest time your software allows"),
    EXPIRING: _l("access ends soon unless you reconnect"),
}


def reason_words(reason: str | None) -> LazyString:
    """What ``reason`` (a ``needs_repair`` answer) means, in plain words."""
    return REASON_WORDS.get(reason or "", REASON_WORDS["revoked_at_provider"])


class NotRepairable(Exception):
    """This connection cannot be repaired by its customer: ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class RepairLink:
    url: str
    expires_at: datetime


def refresh_expires_at(connection: Connection) -> datetime | None:
    # The health helper's column; read this way until both changes are merged.
    value = getattr(connection, "refresh_expires_at", None)
    return value if isinstance(value, datetime) else None


def is_expiring(connection: Connection) -> bool:
    """Linked, but its refresh token's absolute expiry is within the reminder window."""
    expires = refresh_expires_at(connection)
    if connection.status != "linked" or expires is None:
        return False
    days = int(current_app.config.get("CONNECTION_EXPIRY_REMINDER_DAYS", 14))
    return expires <= clock.now() + timedelta(days=days)


def needs_repair(connection: Connection) -> str | None:
    """Why the customer must act on this connection (a ``last_error`` code, or
    ``expiring``), or None when it needs nothing from them."""
    if connection.status == "deauthorized":
        return connection.last_error or "revoked_at_provider"
    if is_expiring(connection):
        return EXPIRING
    return None


def check_repairable(connection: Connection) -> str:
    """The journey a repair of ``connection`` runs; raises NotRepairable if there is none."""
    if not can_reconnect(connection):
        raise NotRepairable("never_linked")
    journey_id = reconnect_journey(connection)
    if journey_id is None:
        raise NotRepairable("no_journey")
    return journey_id


def repair_link(
    connection: Connection, locale: str | None = None, expires_in: int | None = None
) -> RepairLink:
    """A signed link that re-authorizes ``connection`` in one click (same organisation)."""
    journey_id = check_repairable(connection)
    customer = db.session.get(Customer, connection.customer_id)
    if customer is None or customer.erased_at is not None:
        raise NotRepairable("customer_erased")
    max_age = int(current_app.config["LINK_MAX_AGE_SECONDS"])
    expires_at = int(time.time()) + min(expires_in or max_age, max_age)
    token = make_token(
        customer.public_id,
        journey_id,
        locale,
        connection.platform,
        connection.public_id,
        expires_at=expires_at,
    )
    return RepairLink(
        public_url("connections.repair", token=token), datetime.fromtimestamp(expires_at, UTC)
    )


def begin_repair(run: JourneyRun) -> Authorization | None:
    """Start the platform's sign-in for the connection ``run`` re-authorizes (a run a
    repair link opened); None when the run re-authorizes nothing that can be started."""
    reconnecting = steps.reconnecting(run)
    if not reconnecting:
        return None
    connection = db.session.scalars(
        db.select(Connection).where(
            Connection.public_id == reconnecting.get("connection"),
            Connection.customer_id == run.customer_id,
        )
    ).first()
    if connection is None or not _straight_to_connect(run):
        return None
    try:
        return begin_connection(
            run, connection.platform, expected_org_id=reconnecting.get("org_id")
        )
    except PlatformUnavailable:
        return None


# Steps that only tell the customer something: a repair link passes them by.
INFORMATIONAL = {"welcome", "instructions"}


def _straight_to_connect(run: JourneyRun) -> bool:
    """Put ``run`` on its connect step, passing steps that only inform; False when a step
    before it still asks something (a consent, a form): the journey asks it first."""
    journey = journey_for_run(run)
    connect = journey.first_of("connect") if journey is not None else None
    if journey is None or connect is None:
        return False
    shown = steps.applicable_steps(journey, run.answers)
    if connect not in shown:
        return False
    todo = [s for s in shown[: shown.index(connect)] if s.id not in run.completed_steps]
    if any(s.type not in INFORMATIONAL for s in todo):
        return False
    run.completed_steps = [*run.completed_steps, *(s.id for s in todo)]
    run.current_step = connect.id
    return True

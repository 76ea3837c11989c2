"""Bringing a broken connection back in one click, keeping its id.

A repair link is a signed journey link that names the connection (``reconnect=``): opened
at ``/connect/repair/<token>`` it goes straight to the platform's sign-in, accepts only
the same organisation, and re-links the same row (see ``authorization._link``). The
worker's ``send_due_reminders`` emails it to customers whose connection needs them, and
``announce_expiring`` tells the business of an absolute expiry coming.
"""

from __future__ import annotations

import time
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app, render_template
from flask_babel import LazyString, force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, and_, or_, select, update

from app import audit, clock, mail
from app.connections import lifecycle
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
from app.models import AuditEntry, Connection, Customer, JourneyRun
from app.platforms import get_platform
from app.urls import public_url
from app.webhooks.outbox import connection_ids, emit

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


# Platforms that send customers to a Reconnect URL of ours (/connect/<key>/reconnect):
# Intuit requires every QuickBooks app to register one since January 2026.
RECONNECT_URL_PLATFORMS = ("quickbooks",)


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
    """When the connection's refresh token stops working for good, if a platform says."""
    return connection.refresh_expires_at


def _reminder_days() -> timedelta:
    return timedelta(days=int(current_app.config["CONNECTION_EXPIRY_REMINDER_DAYS"]))


def reminder_window(connection: Connection) -> timedelta:
    """How long before its refresh token's absolute expiry a linked connection counts as
    expiring: ``CONNECTION_EXPIRY_REMINDER_DAYS``, but at most half the time it was given
    since it was linked. NetSuite's refresh token lasts seven days from the approval: its
    customer is reminded after three and a half, not as soon as they have connected (and
    again as soon as they have reconnected)."""
    expires, linked = connection.refresh_expires_at, connection.linked_at
    if expires is None or linked is None or expires <= linked:
        return _reminder_days()
    return min(_reminder_days(), (expires - linked) / 2)


def is_expiring(connection: Connection) -> bool:
    """Linked, but its refresh token's absolute expiry is within the reminder window."""
    expires = connection.refresh_expires_at
    if connection.status != "linked" or expires is None:
        return False
    return expires <= clock.now() + reminder_window(connection)


def needs_repair(connection: Connection) -> str | None:
    """Why the customer must act on this connection (a ``last_error`` code, or
    ``expiring``), or None when it needs nothing from them."""
    if connection.status == "deauthorized":
        return connection.last_error or "revoked_at_provider"
    if is_expiring(connection):
        return EXPIRING
    return None


def announce_expiring() -> int:
    """Tell the business once about each linked connection that has come within its
    reminder window of its refresh token's absolute expiry: ``connection.expiring`` with
    ``expires_at`` (counted as an outcome in the metrics), and a timeline entry, whether or
    not mail is set up. Once per link: a reconnect starts afresh. Returns how many.

    Safe from several workers at once: each connection is held with the refresh lease
    while it is announced."""
    candidates = db.session.scalars(
        select(Connection).where(
            Connection.status == "linked",
            Connection.refresh_expires_at <= clock.now() + _reminder_days(),
        )
    ).all()
    return sum(
        _announce(connection)
        for connection in candidates
        if is_expiring(connection) and not _announced(connection)
    )


def _announced(connection: Connection) -> bool:
    return (
        db.session.scalars(
            select(AuditEntry.id).where(
                AuditEntry.action == "connection.expiring",
                AuditEntry.subject_type == "connection",
                AuditEntry.subject_id == connection.public_id,
                AuditEntry.occurred_at >= connection.linked_at,
            )
        ).first()
        is not None
    )


def _announce(connection: Connection) -> bool:
    if not lifecycle.claim(connection.id):
        return False  # another worker has it: announced there, or at the next pass
    db.session.refresh(connection)
    expires = connection.refresh_expires_at
    announced = _announced(connection)
    if not announced and expires is not None:
        when = expires.isoformat().replace("+00:00", "Z")
        emit(
            "connection.expiring",
            connection.customer_id,
            **connection_ids(connection),
            expires_at=when,
        )
        audit.record(
            "system",
            "onramp",
            "connection.expiring",
            "connection",
            connection.public_id,
            None,
            {"refresh_token_expires_at": when},
        )
    lifecycle.release(connection)
    return not announced and expires is not None


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


def connection_to_repair(customer: Customer, platform: str) -> Connection | None:
    """The customer's connection to ``platform`` that a repair would bring back: one that
    needs them first, else the latest that ever linked an organisation (not disconnected)."""
    candidates = db.session.scalars(
        select(Connection)
        .where(
            Connection.customer_id == customer.id,
            Connection.platform == platform,
            Connection.org_id.is_not(None),
            Connection.status.in_(("linked", "deauthorized")),
        )
        .order_by(Connection.id.desc())
    ).all()
    broken = [c for c in candidates if needs_repair(c) is not None]
    return next(iter(broken or candidates), None)


def begin_repair(run: JourneyRun) -> Authorization | None:
    """Start the platform's sign-in for the connection ``run`` re-authorizes (a run a
    repair link opened); None when the run re-authorizes nothing that can be started."""
    reconnecting = steps.reconnecting(run)
    if not reconnecting:
        return None
    connection = db.session.scalars(
        select(Connection).where(
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


# Reminders


def _due_clause(now: datetime) -> ColumnElement[bool]:
    """Connections that may need their customer: deauthorized, or expiring within the
    longest reminder window (``needs_repair`` then says which do)."""
    return or_(
        Connection.status == "deauthorized",
        and_(
            Connection.status == "linked",
            Connection.refresh_expires_at <= now + _reminder_days(),
        ),
    )


def send_due_reminders(now: datetime | None = None) -> int:
    """Email a repair link to each customer whose connection needs them and is due a
    reminder (at most ``CONNECTION_REPAIR_REMINDERS``, ``CONNECTION_REPAIR_REMINDER_SECONDS``
    apart); returns how many were queued. After the last one, once its spacing has passed
    and the connection is still broken, its timeline says so. Only when mail is configured.

    Safe from several workers at once: each reminder is claimed by a conditional update.
    """
    if not mail.enabled():
        return 0
    now = now or clock.now()
    config = current_app.config
    most = int(config["CONNECTION_REPAIR_REMINDERS"])
    spacing = timedelta(seconds=int(config["CONNECTION_REPAIR_REMINDER_SECONDS"]))
    candidates = db.session.scalars(
        select(Connection).where(
            _due_clause(now),
            Connection.org_id.is_not(None),
            or_(
                Connection.repair_reminded_at.is_(None),
                Connection.repair_reminded_at <= now - spacing,
            ),
        )
    ).all()
    queued = 0
    for connection in candidates:
        reason = needs_repair(connection)
        if reason is None:
            continue
        if connection.repair_reminders_sent >= most:
            _note_still_broken(connection, most)
            continue
        queued += _remind(connection, reason, now)
    return queued


def _remind(connection: Connection, reason: str, now: datetime) -> int:
    sent = connection.repair_reminders_sent
    claimed = db.session.execute(
        update(Connection)
        .where(Connection.id == connection.id, Connection.repair_reminders_sent == sent)
        .values(repair_reminders_sent=sent + 1, repair_reminded_at=now)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        db.session.rollback()
        return 0
    # Nothing to send when there is no journey to repair with: the count still stands,
    # so the timeline ends up saying it stayed broken.
    with suppress(NotRepairable):
        email_repair_link(connection, reason)
    audit.record(
        "system",
        "onramp",
        "connection.repair_reminder",
        "connection",
        connection.public_id,
        None,
        {"reminder": sent + 1, "reason": reason},
    )
    db.session.commit()
    return 1


def _note_still_broken(connection: Connection, most: int) -> None:
    """Once: the timeline says the connection is still broken after every reminder."""
    noted = db.session.scalars(
        select(AuditEntry.id).where(
            AuditEntry.action == "connection.still_broken",
            AuditEntry.subject_id == connection.public_id,
            AuditEntry.occurred_at >= connection.repair_reminded_at,
        )
    ).first()
    if noted is not None:
        return
    audit.record(
        "system",
        "onramp",
        "connection.still_broken",
        "connection",
        connection.public_id,
        None,
        {"outcome": f"still broken after {most} reminders"},
    )
    db.session.commit()


def email_repair_link(connection: Connection, reason: str) -> bool:
    """Queue the repair email for ``connection`` in the caller's transaction: in the
    business's name and the customer's language, what broke in plain words, and the
    one-click link. False when mail is off or the customer is gone."""
    customer = db.session.get(Customer, connection.customer_id)
    if customer is None or customer.erased_at is not None:
        return False
    run = db.session.get(JourneyRun, connection.run_id) if connection.run_id else None
    journey = journey_for_run(run) if run is not None else None
    locale = run.locale if run is not None else None
    link = repair_link(connection, locale)
    platform = get_platform(connection.platform)
    platform_name = platform.name if platform else connection.platform
    business = journey.business.name if journey is not None else ""
    expires = refresh_expires_at(connection)
    with force_locale(locale or "en"):
        context = {
            "business": business,
            "platform": platform_name,
            "organisation": connection.org_name,
            "reason": reason,
            "reason_words": str(reason_words(reason)),
            "expires_on": expires.date().isoformat() if expires else "",
            "link": link.url,
            "link_expires_on": link.expires_at.date().isoformat(),
            "support": journey.business.support_email if journey is not None else None,
        }
        if reason == EXPIRING:
            subject = _(
                "%(business)s: reconnect your %(platform)s before access ends",
                business=business,
                platform=platform_name,
            )
        else:
            subject = _(
                "%(business)s: your %(platform)s connection needs reconnecting",
                business=business,
                platform=platform_name,
            )
        text = render_template("email/repair.txt", **context)
    queued = mail.queue(
        "repair", customer.email, subject, text, customer_id=customer.id, about=connection.public_id
    )
    return queued is not None

"""Journey links that are kept: sent by email, followed, revoked, reissued, single-use.

A link made in the console or through the API gets a row (``JourneyLink``) and its
signed token names that row (the ``i`` claim, app/links.py). The row says who made it,
where it was emailed and what became of the email, when it was first opened, and whether
it was revoked or replaced. The link itself is a credential: it is never stored, shown
once when made, and signed anew only as a new row when reissued.

A single-use link is kept by the first browser that opens it (as a delegated link is,
app/connections/delegation.py): that browser may open it again, any other is refused.
Links without a row (older links, repair and finish-later links) work as they always did.
"""

from __future__ import annotations

import enum
import hashlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import delete, select, update
from sqlalchemy.orm import selectinload

from app import audit, clock, mail
from app.dates import when
from app.engine.finish_later import mask
from app.engine.registry import get_journey
from app.extensions import db
from app.links import journey_link
from app.models import Connection, Customer, JourneyLink, JourneyRun

# The mail outbox's kind for these emails.
MAIL_KIND = "journey_link"

# Where a link stands, in the words the console, the timeline and the API use.
SENDING = "sending"
SENT = "sent"
BOUNCED = "bounced"
NOT_SENT = "not sent"
OPENED = "opened"
USED = "used"
REVOKED = "revoked"
EXPIRED = "expired"
STATES = (SENDING, SENT, BOUNCED, NOT_SENT, OPENED, USED, REVOKED, EXPIRED)


class NotSendable(Exception):
    """The link cannot be emailed: ``reason`` is mail_not_configured or customer_erased."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class AlreadyReplaced(Exception):
    """The link was reissued already: ``newer`` is the public id of the link that replaced it."""

    def __init__(self, newer: str) -> None:
        super().__init__(newer)
        self.newer = newer


class Opening(enum.Enum):
    """What opening a kept link found."""

    OPEN = "open"
    REVOKED = "revoked"
    # A single-use link another browser opened first.
    USED_ELSEWHERE = "used_elsewhere"
    # No such row any more (the customer was erased, say).
    GONE = "gone"


@dataclass(frozen=True)
class Options:
    """What a link carries besides its customer: made once, the same again on reissue."""

    journey_id: str
    expires_at: datetime
    reconnects: Connection | None = None
    locale: str | None = None
    platform: str | None = None
    return_url: str | None = None
    single_use: bool = False


@dataclass(frozen=True)
class Made:
    """A link just made, with its URL: shown (or emailed) this once, never kept."""

    link: JourneyLink
    url: str

    @property
    def emailed(self) -> bool:
        return self.link.mail_message_id is not None


def default_expiry(seconds: int | None = None) -> datetime:
    """When a link made now stops working: after ``seconds``, at most LINK_MAX_AGE_SECONDS."""
    max_age = int(current_app.config["LINK_MAX_AGE_SECONDS"])
    # Whole seconds of wall-clock time: the token's own expiry claim is read against it.
    return datetime.fromtimestamp(int(time.time()) + min(seconds or max_age, max_age), UTC)


def can_email(customer: Customer) -> bool:
    """Whether a link for ``customer`` can be emailed from here."""
    return mail.enabled() and customer.erased_at is None and bool(customer.email)


def _check_sendable(customer: Customer) -> None:
    if not mail.enabled():
        raise NotSendable("mail_not_configured")
    if not can_email(customer):
        raise NotSendable("customer_erased")


def create(
    customer: Customer,
    options: Options,
    *,
    actor_type: str,
    actor_id: str,
    send: bool = False,
) -> Made:
    """Make (and with ``send``, email) a journey link for ``customer``; audited; commits.

    Raises NotSendable when ``send`` is asked and mail cannot be sent, ValueError for a
    journey that does not exist.
    """
    made = _make(customer, options, actor_type=actor_type, actor_id=actor_id, send=send)
    db.session.commit()
    return made


def _make(
    customer: Customer, options: Options, *, actor_type: str, actor_id: str, send: bool
) -> Made:
    journey = get_journey(options.journey_id)
    if journey is None:
        raise ValueError(f"no journey {options.journey_id!r}")
    if send:
        _check_sendable(customer)
    link = JourneyLink(
        customer_id=customer.id,
        journey_id=journey.id,
        connection_id=options.reconnects.id if options.reconnects is not None else None,
        locale=options.locale,
        platform=options.platform,
        return_url=options.return_url,
        actor_type=actor_type,
        actor_id=actor_id,
        created_at=clock.now(),
        expires_at=options.expires_at,
        single_use=options.single_use,
    )
    db.session.add(link)
    db.session.flush()
    url = journey_link(
        customer.public_id,
        journey.id,
        options.locale,
        options.platform,
        options.reconnects.public_id if options.reconnects is not None else None,
        return_url=options.return_url,
        expires_at=int(options.expires_at.timestamp()),
        link_id=link.public_id,
    )
    if send:
        _email(link, customer, url)
    after: dict[str, Any] = {
        "link": link.public_id,
        "journey_id": journey.id,
        "expires_at": options.expires_at.isoformat(),
        "single_use": options.single_use,
        "emailed": link.mail_message_id is not None,
    }
    if options.reconnects is not None:
        after["reconnects"] = options.reconnects.public_id
    audit.record(
        actor_type, actor_id, "customer.link_created", "customer", customer.public_id, None, after
    )
    return Made(link, url)


def _email_locale(link: JourneyLink, customer: Customer) -> str:
    """The language of the email: the link's, else the customer's latest run's, else the
    journey's default."""
    if link.locale:
        return link.locale
    latest = db.session.scalars(
        select(JourneyRun.locale)
        .where(JourneyRun.customer_id == customer.id)
        .order_by(JourneyRun.id.desc())
        .limit(1)
    ).first()
    journey = get_journey(link.journey_id)
    return latest or (journey.default_locale if journey is not None else "en")


def _email(link: JourneyLink, customer: Customer, url: str) -> None:
    """Queue the link to the customer in the business's name (the caller commits)."""
    journey = get_journey(link.journey_id)
    business = journey.business if journey is not None else None
    with force_locale(_email_locale(link, customer)):
        name = business.name if business is not None else ""
        subject = (
            _("%(business)s: reconnect your accounting software", business=name)
            if link.connection_id is not None
            else _("%(business)s: connect your accounting software", business=name)
        )
        text = render_template(
            "email/journey_link.txt",
            business=name,
            reconnect=link.connection_id is not None,
            link=url,
            until=when(link.expires_at),
            single_use=link.single_use,
            support=business.support_email if business is not None else None,
        )
    message = mail.queue(
        MAIL_KIND, customer.email, subject, text, customer_id=customer.id, about=link.public_id
    )
    if message is None:
        raise NotSendable("mail_not_configured")
    db.session.flush()
    link.mail_message_id = message.id
    link.sent_to = customer.email


# Reading


def state(link: JourneyLink) -> str:
    """revoked, expired, used (a single-use link a browser kept), opened, bounced, sent,
    sending (the email waits in the outbox) or not sent."""
    if link.revoked_at is not None:
        return REVOKED
    if link.expires_at <= clock.now():
        return EXPIRED
    if link.opened_at is not None:
        return USED if link.single_use else OPENED
    message = link.mail_message
    if message is None:
        return NOT_SENT
    if bounced_at(link) is not None:
        return BOUNCED
    return {"pending": SENDING, "sent": SENT}.get(message.status, NOT_SENT)


def bounced_at(link: JourneyLink) -> datetime | None:
    """When the mail server refused the link's email, if it did."""
    message = link.mail_message
    return message.next_attempt_at if message is not None and mail.is_bounced(message) else None


def is_live(link: JourneyLink) -> bool:
    """Whether the link may still open the journey somewhere: not revoked nor expired."""
    return state(link) not in (REVOKED, EXPIRED)


def for_customer(customer: Customer) -> list[JourneyLink]:
    """The customer's kept links, newest first."""
    return list(
        db.session.scalars(
            select(JourneyLink)
            .where(JourneyLink.customer_id == customer.id)
            .options(selectinload(JourneyLink.mail_message))
            .order_by(JourneyLink.id.desc())
        )
    )


def by_public_id(public_id: str, customer: Customer | None = None) -> JourneyLink | None:
    query = select(JourneyLink).where(JourneyLink.public_id == public_id)
    if customer is not None:
        query = query.where(JourneyLink.customer_id == customer.id)
    return db.session.scalars(query).first()


def customer_of(link: JourneyLink) -> Customer:
    customer = db.session.get(Customer, link.customer_id)
    if customer is None:  # a foreign key guarantees it
        raise LookupError(link.customer_id)
    return customer


def journey_name(link: JourneyLink) -> str:
    journey = get_journey(link.journey_id)
    return journey.name if journey is not None else link.journey_id


def masked_address(link: JourneyLink) -> str | None:
    """Where it was emailed, partly hidden (for the timeline)."""
    return mask(link.sent_to) if link.sent_to else None


# Opening


def _browser_digest(browser: str) -> str:
    return hashlib.sha256(browser.encode()).hexdigest()


def open_link(public_id: str, browser: str) -> Opening:
    """A customer opens a kept link in the browser marked ``browser``: the first opening
    is written down (once, and a single-use link is then this browser's); later openings
    change nothing. Commits only the first opening."""
    link = by_public_id(public_id)
    if link is None:
        return Opening.GONE
    if link.revoked_at is not None:
        return Opening.REVOKED
    digest = _browser_digest(browser)
    if link.opened_at is not None:
        if link.single_use and link.used_by != digest:
            return Opening.USED_ELSEWHERE
        return Opening.OPEN
    # Claimed by a conditional update: of two browsers opening at once, one wins.
    claimed = db.session.execute(
        update(JourneyLink)
        .where(JourneyLink.id == link.id, JourneyLink.opened_at.is_(None))
        .values(opened_at=clock.now(), used_by=digest if link.single_use else None)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        db.session.refresh(link)
        if link.single_use and link.used_by != digest:
            return Opening.USED_ELSEWHERE
    return Opening.OPEN


# Revoking and reissuing


def _stop(link: JourneyLink, actor_type: str, actor_id: str, action: str) -> None:
    before = state(link)
    link.revoked_at = clock.now()
    link.revoked_by = actor_id
    audit.record(
        actor_type,
        actor_id,
        action,
        "customer",
        customer_of(link).public_id,
        {"link": link.public_id, "state": before},
        {"link": link.public_id, "state": REVOKED},
    )


def revoke(link: JourneyLink, *, actor_type: str, actor_id: str) -> bool:
    """Stop the link at once, even in a browser that opened it; audited; commits.
    False when it was revoked already (nothing changes)."""
    if link.revoked_at is not None:
        return False
    _stop(link, actor_type, actor_id, "customer.link_revoked")
    db.session.commit()
    return True


def reissue(link: JourneyLink, *, actor_type: str, actor_id: str) -> Made:
    """Revoke ``link`` and make a new one with the same journey and options, for as long
    as the first was made for; emailed again when the first was. Audited; commits.

    Raises AlreadyReplaced when it was reissued before (reissue the newer one), and
    NotSendable when it was emailed but mail cannot be sent any more.
    """
    if link.replaced_by is not None:
        raise AlreadyReplaced(link.replaced_by)
    customer = customer_of(link)
    send = link.mail_message_id is not None
    if send:
        _check_sendable(customer)
    lasted = max(int((link.expires_at - link.created_at).total_seconds()), 1)
    options = Options(
        journey_id=link.journey_id,
        expires_at=default_expiry(lasted),
        reconnects=link.connection,
        locale=link.locale,
        platform=link.platform,
        return_url=link.return_url,
        single_use=link.single_use,
    )
    if link.revoked_at is None:
        _stop(link, actor_type, actor_id, "customer.link_reissued")
    made = _make(
        customer,
        options,
        actor_type=actor_type,
        actor_id=actor_id,
        send=send,
    )
    link.replaced_by = made.link.public_id
    db.session.commit()
    return made


def erase(customer: Customer) -> int:
    """Delete the customer's kept links (their erasure); left to the caller's commit."""
    result = db.session.execute(delete(JourneyLink).where(JourneyLink.customer_id == customer.id))
    return int(result.rowcount)  # type: ignore[attr-defined]

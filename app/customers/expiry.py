"""Consent that lapses: a reminder before a grant expires, then the ``expired`` record.

A journey's ``consent_policy`` gives grants a lifetime (``lifetime_days``) and says how
long before the end the customer is reminded (``reminder_days``). ``flask consents
expire`` and the webhook worker's loop run :func:`send_reminders` then
:func:`expire_due`; both are safe to run from several processes at once: a reminder
is claimed by a row with a unique record id, and an expiry is written under the
chain's lock after checking again that it is still due.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import click
from flask import render_template
from flask.cli import with_appcontext
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from app import clock, mail
from app.consent import ledger
from app.consent.account_links import manage_url
from app.customers.manage import end_dependents
from app.engine.schema import ConsentPolicy
from app.engine.versions import kept_journey
from app.extensions import db
from app.models import ConsentRecord, ConsentReminder, Customer, JourneyRun
from app.webhooks.outbox import emit

log = logging.getLogger(__name__)

# The longest reminder window a journey may set (ConsentPolicy.reminder_days): the
# database narrows the candidates with it, each journey's own window does the rest.
LONGEST_REMINDER = timedelta(days=365)


def _latest_active(*where: ColumnElement[bool]) -> list[ConsentRecord]:
    """The latest decision of every item that is still an active grant with an expiry,
    narrowed by ``where``: one query, whatever the size of the ledger."""
    latest = (
        select(func.max(ConsentRecord.sequence))
        .where(ConsentRecord.decision != ledger.SCOPED)
        .group_by(ConsentRecord.run_id, ConsentRecord.item_key)
    )
    return list(
        db.session.scalars(
            select(ConsentRecord)
            .where(
                ConsentRecord.sequence.in_(latest),
                ConsentRecord.decision.in_(ledger.ACTIVE),
                ConsentRecord.expires_at.is_not(None),
                *where,
            )
            .order_by(ConsentRecord.sequence)
        ).all()
    )


def _reminder_window(record: ConsentRecord) -> timedelta:
    journey = kept_journey(record.journey_id, record.journey_version)
    policy = journey.policy if journey is not None else ConsentPolicy()
    return timedelta(days=policy.reminder_days)


def send_reminders(now: datetime | None = None) -> int:
    """Remind once about every grant that expires within its journey's reminder window;
    returns how many reminders this call sent (webhook always, email when configured)."""
    now = now or clock.now()
    reminded = exists().where(ConsentReminder.record_id == ConsentRecord.public_id)
    candidates = _latest_active(
        ConsentRecord.expires_at > now,
        ConsentRecord.expires_at <= now + LONGEST_REMINDER,
        ~reminded,
    )
    sent = 0
    for record in candidates:
        assert record.expires_at is not None
        if record.expires_at - _reminder_window(record) > now:
            continue
        if ledger.is_one_off(record):
            # Shared just once, by the customer's choice: nothing to remind them of.
            continue
        reminder = _claim(record, now)
        if reminder is None:
            continue
        sent += 1
    return sent


def _claim(record: ConsentRecord, now: datetime) -> ConsentReminder | None:
    """Take the reminder for ``record`` and tell the business; None if another runner did."""
    reminder = ConsentReminder(
        record_id=record.public_id, customer_id=record.customer_id, sent_at=now
    )
    try:
        with db.session.begin_nested():
            db.session.add(reminder)
    except IntegrityError:
        db.session.rollback()
        return None
    run = db.session.get(JourneyRun, record.run_id)
    assert record.expires_at is not None
    emit(
        "consent.expiring",
        record.customer_id,
        consent_id=record.public_id,
        expires_at=record.expires_at.isoformat().replace("+00:00", "Z"),
        item=record.item_key,
        run_id=run.public_id if run else None,
        journey_id=record.journey_id,
    )
    _email(record)
    db.session.commit()
    return reminder


def _email(record: ConsentRecord) -> None:
    """Queue the one-click reconfirmation link with the reminder (the caller commits); the
    worker sends it and marks the reminder ``emailed``."""
    if not mail.enabled():
        return
    customer = db.session.get(Customer, record.customer_id)
    run = db.session.get(JourneyRun, record.run_id)
    if customer is None or run is None or customer.erased_at is not None:
        return
    journey = kept_journey(record.journey_id, record.journey_version)
    with force_locale(run.locale):
        business = journey.business.name if journey else ""
        context = {
            "business": business,
            "item": record.data_categories[0] if record.data_categories else record.item_key,
            "purpose": record.purpose,
            "expires_on": record.expires_at.date().isoformat() if record.expires_at else "",
            "link": manage_url(customer, reconfirm=record.public_id),
        }
        subject = _("Your consent to %(business)s is about to end", business=business)
        text = render_template("email/reminder.txt", **context)
    mail.queue(
        "consent_reminder",
        customer.email,
        subject,
        text,
        customer_id=customer.id,
        about=record.public_id,
    )


def expire_due(now: datetime | None = None) -> int:
    """Write the ``expired`` record for every grant past its expiry and disconnect what
    depended on a required one; returns how many records this call wrote."""
    now = now or clock.now()
    candidates = _latest_active(ConsentRecord.expires_at <= now)
    written = 0
    for record in candidates:
        # Locks the chain and checks again: another runner or a reconfirmation may have won.
        expired = ledger.expire(record, now)
        if expired is None:
            db.session.rollback()
            continue
        db.session.commit()
        written += 1
        end_dependents(expired)
    return written


@click.command("expire")
@with_appcontext
def expire_command() -> None:
    """Remind customers whose consent ends soon, then expire what is past its end."""
    reminded = send_reminders()
    expired = expire_due()
    click.echo(f"{reminded} reminder(s) sent, {expired} consent(s) expired.")


def run_due() -> None:
    """Reminders then expiry, for the worker loop (it logs and retries on failure)."""
    reminded, expired = send_reminders(), expire_due()
    if reminded or expired:
        log.info("consent expiry: %d reminder(s), %d expired", reminded, expired)

"""'Ask my accountant to do this': a customer hands the connect step to someone they trust.

The customer names the person (accountant, bookkeeper, other) and gets a single-use link
for them, emailed when mail is configured. The first browser to open it keeps it; it
shows who asked, for which business and what the customer already agreed, and lets that
person sign in at the platform with their own login. The consent stays the customer's:
the person asked never sees the consent step. The connection, and the ledger's record
tying the customer's grants to it, say who authorised it and in what role.

Only a SHA-256 of the link's secret is kept. The link expires, works once and can be
revoked by the customer (their page) or a colleague (the console).
"""

from __future__ import annotations

import enum
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from app import audit, clock, mail
from app.consent.personal import decrypt_for, encrypt_for
from app.dates import when
from app.engine.schema import ConnectStep, Journey
from app.engine.versions import journey_for_run
from app.extensions import db
from app.models import Connection, Customer, Delegation, JourneyRun
from app.urls import public_url
from app.webhooks.outbox import emit

ROLES = ("accountant", "bookkeeper", "other")
OWNER = "owner"

# Where a delegation stands, as the customer's page and the console say it.
WAITING = "waiting"
OPENED = "opened"
COMPLETED = "completed"
REVOKED = "revoked"
EXPIRED = "expired"
# The customer connected by themselves first: the link stopped, no longer needed.
NOT_NEEDED = "not_needed"


class Opened(enum.Enum):
    FRESH = "fresh"
    USED = "used"
    EXPIRED = "expired"
    REVOKED = "revoked"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Created:
    """A delegation just made, with its link (shown once: only its hash is kept)."""

    delegation: Delegation
    url: str
    emailed: bool


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def offered(journey: Journey) -> ConnectStep | None:
    """The journey's connect step when it offers delegation, else None."""
    step = journey.first_of("connect")
    return step if isinstance(step, ConnectStep) and step.delegate else None


def person(delegation: Delegation) -> dict[str, Any]:
    """The name and email of the person asked; empty once the customer is erased."""
    customer = db.session.get(Customer, delegation.customer_id)
    found = decrypt_for(customer, delegation.personal_ciphertext) if customer else None
    return found or {}


def name_of(delegation: Delegation) -> str:
    return str(person(delegation).get("name") or "")


def state(delegation: Delegation) -> str:
    """waiting, opened, completed, revoked, not_needed or expired."""
    if delegation.completed_at is not None:
        return COMPLETED
    if delegation.revoked_at is not None:
        return NOT_NEEDED if delegation.revoked_by == NOT_NEEDED else REVOKED
    if delegation.expires_at <= clock.now():
        return EXPIRED
    return OPENED if delegation.used_at is not None else WAITING


def is_open(delegation: Delegation) -> bool:
    """Whether the link (or the browser that opened it) may still connect."""
    return state(delegation) in (WAITING, OPENED)


def _events_ids(delegation: Delegation) -> dict[str, str | None]:
    run = db.session.get(JourneyRun, delegation.run_id)
    return {
        "delegation_id": delegation.public_id,
        "run_id": run.public_id if run else None,
        "journey_id": run.journey_id if run else None,
        "role": delegation.role,
    }


def create(
    run: JourneyRun,
    journey: Journey,
    step: ConnectStep,
    name: str,
    email: str,
    role: str,
    *,
    send: bool,
) -> Created:
    """Ask ``name`` (in ``role``) to connect for the run's customer; with ``send`` (and a
    mail server) the link is emailed to them in the run's language. Commits."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    customer = run.customer
    token = secrets.token_urlsafe(32)
    now = clock.now()
    delegation = Delegation(
        customer_id=run.customer_id,
        run_id=run.id,
        token_sha256=_digest(token),
        role=role,
        personal_ciphertext=encrypt_for(customer, {"name": name, "email": email}),
        created_at=now,
        expires_at=now + timedelta(days=step.delegate_days),
    )
    db.session.add(delegation)
    db.session.flush()
    url = public_url("delegated.open_link", token=token)
    emailed = False
    if send and mail.enabled() and customer.erased_at is None:
        with force_locale(run.locale):
            business = journey.business.name
            subject = _(
                "%(customer)s asks you to connect their accounting software for %(business)s",
                customer=customer.name,
                business=business,
            )
            text = render_template(
                "email/delegation.txt",
                name=name,
                customer=customer.name,
                business=business,
                link=url,
                until=when(delegation.expires_at),
            )
        emailed = (
            mail.queue(
                "delegation",
                email,
                subject,
                text,
                customer_id=run.customer_id,
                about=delegation.public_id,
            )
            is not None
        )
    emit("delegation.created", run.customer_id, **_events_ids(delegation))
    db.session.commit()
    return Created(delegation, url, emailed)


def for_run(run: JourneyRun) -> list[Delegation]:
    return list(
        db.session.scalars(
            select(Delegation).where(Delegation.run_id == run.id).order_by(Delegation.id)
        )
    )


def waiting_for(run: JourneyRun) -> Delegation | None:
    """The run's latest delegation that may still connect, if any."""
    return next((d for d in reversed(for_run(run)) if is_open(d)), None)


def for_customer(customer: Customer) -> list[Delegation]:
    """The customer's delegations, newest first."""
    return list(
        db.session.scalars(
            select(Delegation)
            .where(Delegation.customer_id == customer.id)
            .order_by(Delegation.id.desc())
        )
    )


def by_public_id(public_id: str, customer: Customer | None = None) -> Delegation | None:
    query = select(Delegation).where(Delegation.public_id == public_id)
    if customer is not None:
        query = query.where(Delegation.customer_id == customer.id)
    return db.session.scalars(query).first()


def open_link(token: str) -> tuple[Opened, Delegation | None]:
    """The delegated link is opened: the first opening claims it (commits)."""
    delegation = db.session.scalars(
        select(Delegation).where(Delegation.token_sha256 == _digest(token))
    ).first()
    if delegation is None:
        return Opened.UNKNOWN, None
    if delegation.revoked_at is not None:
        return Opened.REVOKED, delegation
    if delegation.used_at is not None or delegation.completed_at is not None:
        return Opened.USED, delegation
    if delegation.expires_at <= clock.now():
        return Opened.EXPIRED, delegation
    delegation.used_at = clock.now()
    db.session.commit()
    return Opened.FRESH, delegation


def authorised_by(delegation: Delegation) -> tuple[str, str | None]:
    """The role and name a connection made through ``delegation`` records."""
    return delegation.role, name_of(delegation) or None


def complete(delegation: Delegation, connection: Connection) -> None:
    """The person asked connected: the delegation is done and the customer is told (by
    email when mail is configured; their page shows it anyway). Commits."""
    if delegation.completed_at is not None:
        return
    delegation.completed_at = clock.now()
    delegation.connection_id = connection.id
    run = db.session.get(JourneyRun, delegation.run_id)
    customer = db.session.get(Customer, delegation.customer_id)
    if run is not None and customer is not None and mail.enabled() and not customer.erased_at:
        journey = journey_for_run(run)
        if journey is not None and customer.email:
            with force_locale(run.locale):
                business = journey.business.name
                subject = _(
                    "%(name)s connected your accounting software for %(business)s",
                    name=name_of(delegation),
                    business=business,
                )
                text = render_template(
                    "email/delegation_done.txt",
                    customer=customer.name,
                    name=name_of(delegation),
                    business=business,
                    organisation=connection.org_name,
                )
            mail.queue("delegation_done", customer.email, subject, text, customer_id=customer.id)
    emit(
        "delegation.completed",
        delegation.customer_id,
        **_events_ids(delegation),
        connection_id=connection.public_id,
    )
    db.session.commit()


def revoke(delegation: Delegation, *, by: str, actor_id: str) -> bool:
    """Stop the link at once, even in a browser that opened it already; False if it had
    no longer any use (done, revoked or expired). ``by``: customer or user. Commits."""
    if not is_open(delegation):
        return False
    _stop(delegation, by, actor_id)
    db.session.commit()
    return True


def not_needed(run: JourneyRun, connection: Connection) -> None:
    """The customer connected by themselves: the links they gave out for this run stop
    (the person asked is told so if they open it). Left to the caller's commit."""
    if connection.authorised_by_role != "owner":
        return
    for delegation in for_run(run):
        if is_open(delegation):
            _stop(delegation, NOT_NEEDED, "the customer connected themselves")


def _stop(delegation: Delegation, by: str, actor_id: str) -> None:
    before = OPENED if delegation.used_at else WAITING
    delegation.revoked_at = clock.now()
    delegation.revoked_by = by
    customer = db.session.get(Customer, delegation.customer_id)
    audit.record(
        "system" if by == NOT_NEEDED else by,
        actor_id,
        "delegation.revoked",
        "customer",
        customer.public_id if customer else None,
        {"delegation": delegation.public_id, "state": before},
        {"delegation": delegation.public_id, "state": state(delegation)},
    )
    emit("delegation.revoked", delegation.customer_id, **_events_ids(delegation), revoked_by=by)

"""The consent ledger: every decision, with the exact text shown, appended and never changed."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from app import clock
from app.consent import chain
from app.consent.personal import decrypt_text_or_none, encrypt_for
from app.dates import when
from app.engine.schema import ONCE, ONCE_DAYS, ConsentItem, ConsentStep, Journey
from app.extensions import db
from app.models import Connection, ConsentRecord, Customer, JourneyRun
from app.webhooks.outbox import emit

GRANTED = "granted"
DECLINED = "declined"
WITHDRAWN = "withdrawn"
RECONFIRMED = "reconfirmed"
EXPIRED = "expired"
# Not a decision: a grant now also covers a connection (its platform, organisation, scopes).
SCOPED = "scoped"
DECISIONS = (GRANTED, DECLINED, WITHDRAWN, RECONFIRMED, EXPIRED, SCOPED)
# The decisions that leave an item consented to.
ACTIVE = frozenset({GRANTED, RECONFIRMED})

# How a record came to be written (collection_method).
BY_JOURNEY = "journey"
BY_EMBEDDED_JOURNEY = "embedded journey"
BY_CUSTOMER_PAGE = "customer page"
BY_ADMIN = "admin console"
BY_API = "api"
BY_EXPIRY = "expiry"
BY_CONNECTION = "connection"


@dataclass(frozen=True)
class Evidence:
    """How the decision was made: the request it came with."""

    ip_address: str | None
    user_agent: str | None
    locale: str
    collection_method: str = BY_JOURNEY


@dataclass(frozen=True)
class Actor:
    """Who acted when not the customer: a colleague, an API key, or Onramp itself."""

    type: str
    id: str
    collection_method: str


SYSTEM = Actor("system", "onramp", BY_EXPIRY)
# Who signed in at the platform: the customer themselves, or (actor type ``delegate``)
# the accountant, bookkeeper or other person they asked.
OWNER = "owner"
DELEGATE = "delegate"


def labels() -> dict[str, str]:
    """The headings a consent item is shown under, in the page's language."""
    return {
        "why": _("Why"),
        "kept": _("How long we keep it"),
        "recipients": _("Who receives it"),
        "required": _("Required"),
        "optional": _("Optional"),
    }


def item_text(journey: Journey, step: ConsentStep, item: ConsentItem, locale: str) -> str:
    """The exact wording shown for an item, as the page shows it and the record keeps it,
    with how it was agreed when that was by the button rather than a tick of its own."""
    label = labels()
    text = (
        f"{journey.text(item.category, locale)}\n"
        f"{label['why']}: {journey.text(item.purpose, locale)}\n"
        f"{label['kept']}: {journey.text(item.retention, locale)}\n"
        f"{label['recipients']}: {journey.text(item.recipients, locale)}\n"
        f"{label['required'] if item.required else label['optional']}"
    )
    if not step.ticked(item):
        text += f"\n{agreement_statement()}"
    return text


def duration_question(journey: Journey) -> str:
    """The question of how long to share, when the journey lets the customer choose."""
    return _("How long may %(business)s read these records?", business=journey.business.name)


def duration_options(journey: Journey, now: datetime) -> list[tuple[str, str]]:
    """Each duration the customer may choose (the form's value) and its wording, dated
    from ``now`` in the current language; none when the journey does not ask."""
    policy = journey.policy
    if policy.durations is None:
        return []
    options = []
    for choice in policy.durations.choices:
        if choice == ONCE:
            wording = _("Just once (access ends 24 hours after you agree)")
        else:
            wording = _("Ongoing, until %(date)s", date=when(now + timedelta(days=int(choice))))
        options.append((str(choice), wording))
    return options


def agreement_statement() -> str:
    """What the consent page says beside its button when the button itself agrees."""
    return _("By selecting “Agree and continue” you agree to share the items marked Required.")


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def controllers(journey: Journey) -> list[dict[str, Any]]:
    """The controller(s) the customer was told about, as the record keeps them."""
    business = journey.business
    return [
        {
            "name": business.name,
            "email": business.support_email,
            "phone": business.support_phone,
            "privacy_url": str(business.privacy_url) if business.privacy_url else None,
        }
    ]


def run_scope(run_id: int) -> dict[str, Any] | None:
    """The connections a run has linked so far: platform, organisation and scopes granted."""
    linked = db.session.scalars(
        select(Connection)
        .where(Connection.run_id == run_id, Connection.linked_at.is_not(None))
        .order_by(Connection.id)
    ).all()
    if not linked:
        return None
    return {"connections": [connection_scope(c) for c in linked]}


def connection_scope(connection: Connection) -> dict[str, Any]:
    """What a connection covers. The organisation's name may name a person (a sole
    trader): it is kept encrypted with the customer's key, so erasure makes it unreadable."""
    customer = db.session.get(Customer, connection.customer_id)
    name = connection.org_name
    return {
        "connection_id": connection.public_id,
        "platform": connection.platform,
        "organisation_id": connection.org_id,
        "organisation_name_ciphertext": (
            encrypt_for(customer, name) if name and customer is not None else None
        ),
        "scopes": (connection.scopes or "").split(),
    }


def readable_scope(record: ConsentRecord, customer: Customer) -> dict[str, Any] | None:
    """A record's scope as people read it: each organisation's name decrypted with the
    customer's key (None once the customer is erased)."""
    if record.scope is None:
        return None
    connections = []
    for entry in record.scope.get("connections", []):
        readable = {k: v for k, v in entry.items() if k != "organisation_name_ciphertext"}
        ciphertext = entry.get("organisation_name_ciphertext")
        readable["organisation_name"] = (
            decrypt_text_or_none(customer, ciphertext) if ciphertext else None
        )
        connections.append(readable)
    return {**record.scope, "connections": connections}


def _personal(customer: Customer, evidence: Evidence) -> str:
    """The person acting and their browser, encrypted with the customer's own key."""
    return encrypt_for(
        customer,
        {
            "name": customer.name,
            "email": customer.email,
            "ip_address": evidence.ip_address,
            "user_agent": (evidence.user_agent or "")[:500] or None,
        },
    )


def is_active(record: ConsentRecord | None, now: datetime | None = None) -> bool:
    """Whether this latest record leaves its item consented to (and not past its expiry)."""
    if record is None or record.decision not in ACTIVE:
        return False
    return record.expires_at is None or record.expires_at > (now or clock.now())


def is_one_off(record: ConsentRecord) -> bool:
    """Whether a grant is the customer's choice to share just once: it lasts a day at
    most, with no reminder before it ends and nothing to keep going."""
    if record.expires_at is None:
        return False
    return record.expires_at - record.recorded_at <= timedelta(days=ONCE_DAYS)


def latest_decisions(run: JourneyRun | int) -> dict[str, ConsentRecord]:
    """The most recent decision per consent item of a run (scoping notes left out)."""
    run_id = run if isinstance(run, int) else run.id
    records = db.session.scalars(
        select(ConsentRecord)
        .where(ConsentRecord.run_id == run_id, ConsentRecord.decision != SCOPED)
        .order_by(ConsentRecord.sequence)
    )
    return {record.item_key: record for record in records}


def record_decisions(
    run: JourneyRun,
    journey: Journey,
    step: ConsentStep,
    granted: set[str],
    evidence: Evidence,
    duration: str | None = None,
) -> list[ConsentRecord]:
    """Write one record per item whose decision or wording differs from the last one.

    Submitting the same answers twice therefore records once; every item not in
    ``granted`` is recorded as declined, since the customer saw it and left it unticked.
    ``duration`` is the customer's choice of how long to share, where the journey asks:
    the grants last that long and their text ends with the question and the answer shown.
    """
    chain.lock()
    latest = latest_decisions(run)
    customer = run.customer
    lifetime = journey.policy.lifetime_days
    chosen = ""
    if duration is not None and journey.policy.durations is not None:
        days = journey.policy.duration_days(duration)
        if days is None:
            raise ValueError(f"{duration!r} is not one of the journey's duration choices")
        lifetime = days
        wording = dict(duration_options(journey, clock.now()))[duration]
        chosen = f"\n{duration_question(journey)} {wording}"
    # The same for every item of this submission: read once.
    scope = run_scope(run.id)
    written = []
    for item in step.items:
        decision = GRANTED if item.key in granted else DECLINED
        text = item_text(journey, step, item, evidence.locale)
        if decision == GRANTED:
            text += chosen
        digest = text_hash(text)
        last = latest.get(item.key)
        if last is not None and last.text_sha256 == digest:
            if decision == GRANTED and is_active(last):
                continue
            if decision == DECLINED and last.decision == DECLINED:
                continue
        now = clock.now()
        record = ConsentRecord(
            customer_id=run.customer_id,
            run_id=run.id,
            journey_id=run.journey_id,
            journey_version=run.journey_version,
            item_key=item.key,
            text=text,
            text_sha256=digest,
            decision=decision,
            required=item.required,
            recorded_at=now,
            expires_at=now + timedelta(days=lifetime) if lifetime and decision == GRANTED else None,
            refers_to=None,
            locale=evidence.locale,
            actor_type="customer",
            actor_id=None,
            collection_method=evidence.collection_method,
            controllers=controllers(journey),
            purpose=journey.text(item.purpose, evidence.locale),
            data_categories=[journey.text(item.category, evidence.locale)],
            policy_url=str(journey.business.privacy_url) if journey.business.privacy_url else None,
            policy_version=journey.policy.policy_version or journey.version,
            jurisdiction=journey.policy.jurisdiction,
            scope=scope,
            personal_ciphertext=_personal(customer, evidence),
        )
        chain.append(record)
        emit(
            f"consent.{decision}",
            run.customer_id,
            consent_id=record.public_id,
            run_id=run.public_id,
            journey_id=run.journey_id,
            item=item.key,
        )
        written.append(record)
    return written


def follow_up(
    latest: ConsentRecord,
    decision: str,
    *,
    actor: Actor | None = None,
    evidence: Evidence | None = None,
    expires_at: datetime | None = None,
    scope: dict[str, Any] | None = None,
    personal: dict[str, Any] | None = None,
) -> ConsentRecord:
    """A record about ``latest`` (withdrawn, reconfirmed, expired, scoped): the same
    wording, controllers and purpose, a new decision, and who made it (the caller commits).

    Either ``evidence`` (the customer acted) or ``actor`` (someone else did) is given;
    ``personal`` is what names that someone, kept encrypted with the customer's key.
    """
    customer = db.session.get(Customer, latest.customer_id)
    assert customer is not None
    record = ConsentRecord(
        customer_id=latest.customer_id,
        run_id=latest.run_id,
        journey_id=latest.journey_id,
        journey_version=latest.journey_version,
        item_key=latest.item_key,
        text=latest.text,
        text_sha256=latest.text_sha256,
        decision=decision,
        required=latest.required,
        recorded_at=clock.now(),
        expires_at=expires_at,
        refers_to=latest.public_id,
        locale=evidence.locale if evidence else latest.locale,
        actor_type=actor.type if actor else "customer",
        actor_id=actor.id if actor else None,
        collection_method=actor.collection_method if actor else evidence.collection_method,  # type: ignore[union-attr]
        controllers=latest.controllers,
        purpose=latest.purpose,
        data_categories=latest.data_categories,
        policy_url=latest.policy_url,
        policy_version=latest.policy_version,
        jurisdiction=latest.jurisdiction,
        scope=scope if scope is not None else run_scope(latest.run_id),
        personal_ciphertext=(
            _personal(customer, evidence)
            if evidence
            else encrypt_for(customer, personal)
            if personal
            else None
        ),
    )
    return chain.append(record)


def _latest_of_item(record: ConsentRecord) -> ConsentRecord:
    latest = latest_decisions(record.run_id)
    return latest[record.item_key]


def _emit_about(record: ConsentRecord, event_type: str, **ids: str | None) -> None:
    run = db.session.get(JourneyRun, record.run_id)
    emit(
        event_type,
        record.customer_id,
        consent_id=record.public_id,
        run_id=run.public_id if run else None,
        journey_id=record.journey_id,
        item=record.item_key,
        **ids,
    )


def withdraw(
    record: ConsentRecord, *, actor: Actor | None = None, evidence: Evidence | None = None
) -> ConsentRecord | None:
    """Withdraw a granted consent: a new ``withdrawn`` record with the same wording.

    ``record`` may be any record of the item; only the item's latest decision counts,
    and None is returned when that is not an active grant (nothing to withdraw).
    Without ``evidence`` of the customer acting, ``actor`` says who did (an API key by
    default). The caller commits.
    """
    chain.lock()
    latest = _latest_of_item(record)
    if latest.decision not in ACTIVE:
        return None
    withdrawn = follow_up(
        latest,
        WITHDRAWN,
        actor=actor if actor or evidence else Actor("api_key", "api", BY_API),
        evidence=evidence,
    )
    _emit_about(withdrawn, "consent.withdrawn", withdraws=latest.public_id)
    return withdrawn


def reconfirm(record: ConsentRecord, evidence: Evidence) -> ConsentRecord | None:
    """The customer confirms a grant again: it lasts another full lifetime from now.

    None when the item is not an active grant any more (withdrawn or expired: the
    customer must consent afresh through a journey), or was shared just once by the
    customer's choice. The caller commits.
    """
    chain.lock()
    latest = _latest_of_item(record)
    if not is_active(latest) or latest.expires_at is None or is_one_off(latest):
        return None
    first = _original_grant(latest)
    lifetime = first.expires_at - first.recorded_at if first.expires_at else None
    now = clock.now()
    reconfirmed = follow_up(
        latest,
        RECONFIRMED,
        evidence=evidence,
        expires_at=now + lifetime if lifetime else None,
    )
    _emit_about(reconfirmed, "consent.reconfirmed", reconfirms=latest.public_id)
    return reconfirmed


def _original_grant(record: ConsentRecord) -> ConsentRecord:
    """The grant a chain of reconfirmations started from."""
    while record.decision == RECONFIRMED and record.refers_to:
        earlier = db.session.scalars(
            select(ConsentRecord).where(ConsentRecord.public_id == record.refers_to)
        ).first()
        if earlier is None:
            break
        record = earlier
    return record


def expire(record: ConsentRecord, now: datetime | None = None) -> ConsentRecord | None:
    """Write the ``expired`` record for a grant past its expiry; None if it is not due
    (reconfirmed, withdrawn or already expired meanwhile). The caller commits."""
    chain.lock()
    latest = _latest_of_item(record)
    now = now or clock.now()
    if latest.decision not in ACTIVE or latest.expires_at is None or latest.expires_at > now:
        return None
    expired = follow_up(latest, EXPIRED, actor=SYSTEM)
    _emit_about(expired, "consent.expired", expires=latest.public_id)
    return expired


def record_scope(connection: Connection) -> list[ConsentRecord]:
    """A connection was linked: note on each active grant of its run what it now covers."""
    if connection.run_id is None:
        return []
    chain.lock()
    scope = {"connections": [connection_scope(connection)]}
    actor = Actor("system", "onramp", BY_CONNECTION)
    personal = None
    role = connection.authorised_by_role or OWNER
    if role != OWNER:
        # Someone the customer asked signed in: the record names their role (never their
        # name in actor_id); the name goes in the encrypted personal part.
        actor = Actor(DELEGATE, role, BY_CONNECTION)
        personal = {"name": delegate_name(connection), "role": role}
    return [
        follow_up(
            latest,
            SCOPED,
            actor=actor,
            expires_at=latest.expires_at,
            scope=scope,
            personal=personal,
        )
        for latest in latest_decisions(connection.run_id).values()
        if is_active(latest)
    ]


def delegate_name(connection: Connection) -> str | None:
    """The name of whom the customer asked to connect, None for their own connections
    (or once the customer is erased)."""
    customer = db.session.get(Customer, connection.customer_id)
    ciphertext = connection.authorised_by_name_ciphertext
    if customer is None or not ciphertext:
        return None
    return decrypt_text_or_none(customer, ciphertext)

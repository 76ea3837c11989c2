"""The consent ledger: every decision, with the exact text shown, appended and never changed."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from app.extensions import db
from app.journey.definitions import ConsentItem, ConsentStep, Journey
from app.models import ConsentRecord, JourneyRun
from app.webhooks.outbox import emit

GRANTED = "granted"
DECLINED = "declined"
WITHDRAWN = "withdrawn"


@dataclass(frozen=True)
class Evidence:
    """How the decision was made: the request it came with."""

    ip_address: str | None
    user_agent: str | None
    locale: str


def labels() -> dict[str, str]:
    """The headings a consent item is shown under, in the page's language."""
    return {
        "why": _("Why"),
        "kept": _("How long we keep it"),
        "recipients": _("Who receives it"),
        "required": _("Required"),
        "optional": _("Optional"),
    }


def item_text(journey: Journey, item: ConsentItem, locale: str) -> str:
    """The exact wording shown for an item, as the page shows it and the record keeps it."""
    label = labels()
    return (
        f"{journey.text(item.category, locale)}\n"
        f"{label['why']}: {journey.text(item.purpose, locale)}\n"
        f"{label['kept']}: {journey.text(item.retention, locale)}\n"
        f"{label['recipients']}: {journey.text(item.recipients, locale)}\n"
        f"{label['required'] if item.required else label['optional']}"
    )


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def latest_decisions(run: JourneyRun) -> dict[str, ConsentRecord]:
    """The most recent record per consent item of a run."""
    records = db.session.scalars(
        select(ConsentRecord).where(ConsentRecord.run_id == run.id).order_by(ConsentRecord.id)
    )
    return {record.item_key: record for record in records}


def record_decisions(
    run: JourneyRun, journey: Journey, step: ConsentStep, granted: set[str], evidence: Evidence
) -> list[ConsentRecord]:
    """Write one record per item whose decision or wording differs from the last one.

    Submitting the same answers twice therefore records once; every item not in
    ``granted`` is recorded as declined, since the customer saw it and left it unticked.
    """
    latest = latest_decisions(run)
    written = []
    for item in step.items:
        decision = GRANTED if item.key in granted else DECLINED
        text = item_text(journey, item, evidence.locale)
        digest = text_hash(text)
        last = latest.get(item.key)
        if last is not None and last.decision == decision and last.text_sha256 == digest:
            continue
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
            ip_address=evidence.ip_address,
            user_agent=(evidence.user_agent or "")[:500] or None,
            locale=evidence.locale,
        )
        db.session.add(record)
        db.session.flush()
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


def withdraw(record: ConsentRecord) -> ConsentRecord | None:
    """Withdraw a granted consent: a new ``withdrawn`` record with the same wording.

    ``record`` may be any record of the item; only the item's latest decision counts,
    and None is returned when that is not a grant (nothing to withdraw). The caller commits.
    """
    latest = db.session.scalars(
        select(ConsentRecord)
        .where(ConsentRecord.run_id == record.run_id, ConsentRecord.item_key == record.item_key)
        .order_by(ConsentRecord.id.desc())
        .limit(1)
    ).one()
    if latest.decision != GRANTED:
        return None
    withdrawn = ConsentRecord(
        customer_id=latest.customer_id,
        run_id=latest.run_id,
        journey_id=latest.journey_id,
        journey_version=latest.journey_version,
        item_key=latest.item_key,
        text=latest.text,
        text_sha256=latest.text_sha256,
        decision=WITHDRAWN,
        required=latest.required,
        locale=latest.locale,
    )
    db.session.add(withdrawn)
    db.session.flush()
    run = db.session.get(JourneyRun, latest.run_id)
    emit(
        "consent.withdrawn",
        latest.customer_id,
        consent_id=withdrawn.public_id,
        withdraws=latest.public_id,
        run_id=run.public_id if run else None,
        journey_id=latest.journey_id,
        item=latest.item_key,
    )
    return withdrawn

"""The consent ledger: every decision, with the exact text shown, appended and never changed."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from app.extensions import db
from app.journey.definitions import ConsentItem, ConsentStep, Journey
from app.models import ConsentRecord, JourneyRun

GRANTED = "granted"
DECLINED = "declined"


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
        written.append(record)
    return written

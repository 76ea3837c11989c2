"""Files a customer uploads instead of connecting their software.

The journey face checks each file (kind by content, size, name: see ``app/files.py``);
here they are stored, encrypted with the customer's own data key like the personal
details of their consent records, and handed to the business only while the consent
items covering them stay granted. Erasing the customer, or the journey's
``retention.uploads_days``, deletes them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from app import audit, clock
from app.consent import ledger
from app.consent.personal import KeyDestroyed, decrypt_bytes_for, encrypt_bytes_for
from app.engine import events, steps
from app.engine.registry import get_journey
from app.engine.schema import Journey, Step, UploadStep
from app.engine.versions import kept_journey
from app.extensions import db
from app.files import CONTENT_TYPES, Kind
from app.models import Customer, JourneyRun, Upload
from app.webhooks.outbox import emit


@dataclass(frozen=True)
class CheckedFile:
    """A file the customer sent, already checked: its name, kind and bytes."""

    filename: str
    kind: Kind
    data: bytes


class UploadUnavailable(Exception):
    """The file can't be handed out: ``reason`` is consent_withdrawn or erased."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def missing_consent(run: JourneyRun, step: UploadStep) -> list[str]:
    """The consent items covering the step that the customer has not granted (or no longer)."""
    latest = ledger.latest_decisions(run)
    return [key for key in step.covered_by if not ledger.is_active(latest.get(key))]


def store(run: JourneyRun, journey: Journey, step: UploadStep, files: list[CheckedFile]) -> Step:
    """Keep the customer's files, tell the business (``upload.received``), note them in the
    timeline and finish the step. Returns the step to show next. Commits, all or nothing."""
    customer = run.customer
    stored = []
    for file in files:
        upload = Upload(
            customer_id=customer.id,
            run_id=run.id,
            step=step.id,
            filename=file.filename,
            kind=file.kind,
            content_type=CONTENT_TYPES[file.kind],
            size=len(file.data),
            sha256=hashlib.sha256(file.data).hexdigest(),
            content_ciphertext=encrypt_bytes_for(customer, file.data),
            covered_by=list(step.covered_by),
        )
        db.session.add(upload)
        stored.append(upload)
    db.session.flush()
    emit(
        "upload.received",
        customer,
        run_id=run.public_id,
        journey_id=run.journey_id,
        step=step.id,
        upload_ids=[u.public_id for u in stored],
    )
    return steps.files_uploaded(run, journey, step, [f.filename for f in files])


def customer_uploads(customer: Customer) -> list[Upload]:
    return list(
        db.session.scalars(
            select(Upload).where(Upload.customer_id == customer.id).order_by(Upload.id)
        )
    )


def run_uploads(run: JourneyRun) -> list[Upload]:
    return list(
        db.session.scalars(select(Upload).where(Upload.run_id == run.id).order_by(Upload.id))
    )


def find(public_id: str) -> Upload | None:
    return db.session.scalars(select(Upload).where(Upload.public_id == public_id)).first()


def still_covered(upload: Upload) -> bool:
    """Whether every consent item covering the file is still granted (not withdrawn, not
    expired)."""
    latest = ledger.latest_decisions(upload.run_id)
    return all(ledger.is_active(latest.get(key)) for key in upload.covered_by)


def content(upload: Upload) -> bytes:
    """The file's original bytes, while its consent holds; else UploadUnavailable."""
    customer = db.session.get(Customer, upload.customer_id)
    if customer is None or customer.erased_at is not None:
        raise UploadUnavailable("erased")
    if not still_covered(upload):
        raise UploadUnavailable("consent_withdrawn")
    try:
        return decrypt_bytes_for(customer, upload.content_ciphertext)
    except KeyDestroyed as exc:
        raise UploadUnavailable("erased") from exc


def erase(customer: Customer) -> int:
    """Delete every file of ``customer`` (the caller commits); returns how many."""
    result = db.session.execute(delete(Upload).where(Upload.customer_id == customer.id))
    return int(result.rowcount)  # type: ignore[attr-defined]


def _keep_for(run: JourneyRun) -> timedelta | None:
    journey = get_journey(run.journey_id) or kept_journey(run.journey_id, run.journey_version)
    days = journey.retention.uploads_days if journey and journey.retention else None
    return timedelta(days=days) if days else None


def purge_expired(now: datetime | None = None) -> int:
    """Delete uploads older than their journey's ``retention.uploads_days`` (the journey's
    current file decides), noting it in each run's timeline. Commits per run; returns how
    many files were deleted."""
    now = now or clock.now()
    run_ids = db.session.scalars(
        select(Upload.run_id).where(Upload.created_at <= now - timedelta(days=1)).distinct()
    ).all()
    deleted = 0
    for run_id in run_ids:
        run = db.session.get(JourneyRun, run_id)
        keep_for = _keep_for(run) if run is not None else None
        if run is None or keep_for is None:
            continue
        doomed = db.session.scalars(
            select(Upload).where(Upload.run_id == run_id, Upload.created_at <= now - keep_for)
        ).all()
        if not doomed:
            continue
        by_step: dict[str, int] = {}
        for upload in doomed:
            by_step[upload.step] = by_step.get(upload.step, 0) + 1
            db.session.delete(upload)
        for step_id, count in by_step.items():
            events.uploads_deleted(run, step_id, count, "retention")
        deleted += len(doomed)
        db.session.commit()
    if deleted:
        audit.record("system", "onramp", "uploads.purge_expired", after={"deleted": deleted})
        db.session.commit()
    return deleted

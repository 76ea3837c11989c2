"""Journey events: what happened on each step and how long it took."""

from __future__ import annotations

from sqlalchemy import select

from app import clock
from app.extensions import db
from app.metrics import JOURNEY_STEPS
from app.models import JourneyEvent, JourneyRun


def _last_event(
    run: JourneyRun, step_id: str | None = None, kind: str | None = None
) -> JourneyEvent | None:
    query = select(JourneyEvent).where(JourneyEvent.run_id == run.id)
    if step_id is not None:
        query = query.where(JourneyEvent.step == step_id)
    if kind is not None:
        query = query.where(JourneyEvent.kind == kind)
    return db.session.scalars(query.order_by(JourneyEvent.id.desc()).limit(1)).first()


def _active(run: JourneyRun) -> None:
    # The customer is back: a later idle spell is reported anew (see idle.mark_abandoned).
    if run.abandoned_at is not None:
        run.abandoned_at = None


# Events that leave the customer on the step: showing it again is the same visit.
VISITING = ("entered", "not_listed")


def _add(run: JourneyRun, event: JourneyEvent) -> None:
    """Every event goes through here, so the run knows whether a visit is under way
    without reading its last event."""
    db.session.add(event)
    run.visiting_step = event.step if event.kind in VISITING else None


def step_entered(run: JourneyRun, step_id: str) -> None:
    """Note that the customer is looking at a step; a refresh is not a second visit."""
    _active(run)
    # Naming unlisted software shows the same step again: the same visit.
    if run.visiting_step == step_id:
        return
    _add(run, JourneyEvent(run_id=run.id, step=step_id, kind="entered"))
    JOURNEY_STEPS.labels(run.journey_id, step_id, "entered").inc()


def _since_entered_ms(run: JourneyRun, step_id: str) -> int | None:
    entered = _last_event(run, step_id, "entered")
    if entered is None:
        return None
    return int((clock.now() - entered.occurred_at).total_seconds() * 1000)


def step_completed(run: JourneyRun, step_id: str, detail: str | None = None) -> None:
    _active(run)
    _add(
        run,
        JourneyEvent(
            run_id=run.id,
            step=step_id,
            kind="completed",
            duration_ms=_since_entered_ms(run, step_id),
            detail=detail,
        ),
    )
    JOURNEY_STEPS.labels(run.journey_id, step_id, "completed").inc()


def _timed(run: JourneyRun, step_id: str, kind: str, detail: str) -> None:
    """An event timed from the step's entry, with a short ``detail``."""
    _active(run)
    _add(
        run,
        JourneyEvent(
            run_id=run.id,
            step=step_id,
            kind=kind,
            duration_ms=_since_entered_ms(run, step_id),
            detail=detail[:500],
        ),
    )
    JOURNEY_STEPS.labels(run.journey_id, step_id, kind).inc()


def step_failed(run: JourneyRun, step_id: str, detail: str) -> None:
    _timed(run, step_id, "failed", detail)


def saved_for_later(run: JourneyRun, step_id: str, detail: str) -> None:
    """The customer saved their place to finish later (``detail``: how the link reached them)."""
    _timed(run, step_id, "saved", detail)


def said_not_listed(run: JourneyRun, step_id: str, software: str) -> None:
    """The customer named software the step doesn't list (``software``: their words)."""
    _timed(run, step_id, "not_listed", software)


def chose_upload(run: JourneyRun, step_id: str) -> None:
    """The customer chose to upload files instead of connecting, leaving ``step_id``."""
    _timed(run, step_id, "upload_instead", "")


def uploaded(run: JourneyRun, step_id: str, names: list[str]) -> None:
    """The customer uploaded files: how many, and their names (as the timeline says it)."""
    count = "1 file" if len(names) == 1 else f"{len(names)} files"
    _timed(run, step_id, "uploaded", f"{count} ({', '.join(names)})")


def uploads_deleted(run: JourneyRun, step_id: str, count: int, why: str) -> None:
    """Files the customer uploaded were deleted (``why``: retention, say)."""
    noun = "1 file" if count == 1 else f"{count} files"
    _add(
        run,
        JourneyEvent(run_id=run.id, step=step_id, kind="uploads_deleted", detail=f"{noun} ({why})"),
    )

"""Runs left idle: after ``JOURNEY_ABANDON_AFTER_SECONDS`` the business hears of it once."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from sqlalchemy import exists, select, update

from app import clock
from app.extensions import db
from app.models import JourneyEvent, JourneyRun
from app.webhooks.outbox import emit


def mark_abandoned(idle: timedelta | None = None) -> int:
    """Mark every run idle for longer than ``idle`` as abandoned; returns how many.

    Safe to run from several processes at once: each run is claimed by a conditional
    update, so ``journey.abandoned`` is emitted once per period of idleness. A customer
    who comes back clears the mark (see ``events.step_entered``).
    """
    if idle is None:
        idle = timedelta(seconds=current_app.config["JOURNEY_ABANDON_AFTER_SECONDS"])
    cutoff = clock.now() - idle
    recent_activity = exists().where(
        JourneyEvent.run_id == JourneyRun.id, JourneyEvent.occurred_at >= cutoff
    )
    candidates = db.session.scalars(
        select(JourneyRun.id).where(
            JourneyRun.status.in_(("active", "declined")),
            JourneyRun.abandoned_at.is_(None),
            JourneyRun.updated_at < cutoff,
            ~recent_activity,
        )
    ).all()
    marked = 0
    for run_id in candidates:
        claimed = db.session.execute(
            update(JourneyRun)
            .where(JourneyRun.id == run_id, JourneyRun.abandoned_at.is_(None))
            .values(abandoned_at=clock.now())
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount == 1:  # type: ignore[attr-defined]
            run = db.session.get(JourneyRun, run_id)
            assert run is not None
            emit(
                "journey.abandoned",
                run.customer_id,
                run_id=run.public_id,
                journey_id=run.journey_id,
                step=run.current_step,
            )
            marked += 1
        db.session.commit()
    return marked

"""Retention: what a customer left unfinished is not kept for ever.

A journey's ``retention.abandoned_runs_days`` says how long an abandoned run (see
``idle.mark_abandoned``) is kept. After that its answers, journey events, OAuth flows
and never-linked connections are deleted. The run itself is deleted too, unless a
consent record or receipt refers to it: the ledger is append-only and must keep
pointing at a run, so such a run is kept, emptied, with the status ``purged``.
The journey's current file decides (a retention policy applies to data held now,
whichever version the run started on).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import click
from flask.cli import with_appcontext
from sqlalchemy import delete, exists, select

from app import audit, clock
from app.engine.registry import get_journey
from app.engine.schema import Journey
from app.engine.versions import kept_journey
from app.extensions import db
from app.models import (
    Connection,
    ConsentReceipt,
    ConsentRecord,
    Delegation,
    JourneyEvent,
    JourneyFeedback,
    JourneyRun,
    OAuthFlow,
    Upload,
)

PURGED = "purged"
# The shortest period a journey may set (Retention.abandoned_runs_days).
SHORTEST = timedelta(days=1)


def _policy(run: JourneyRun) -> timedelta | None:
    journey: Journey | None = get_journey(run.journey_id) or kept_journey(
        run.journey_id, run.journey_version
    )
    days = journey.retention.abandoned_runs_days if journey and journey.retention else None
    return timedelta(days=days) if days else None


def purge_abandoned(now: datetime | None = None) -> dict[str, int]:
    """Purge every abandoned run past its journey's retention period; returns how many
    runs were deleted and how many kept (emptied) for the ledger. Commits per run, so
    several processes may run it at once (a run already purged is skipped)."""
    now = now or clock.now()
    candidates = db.session.scalars(
        select(JourneyRun)
        .where(
            JourneyRun.abandoned_at.is_not(None),
            JourneyRun.abandoned_at <= now - SHORTEST,
            JourneyRun.status != PURGED,
        )
        .order_by(JourneyRun.id)
    ).all()
    counts = {"deleted": 0, "kept": 0}
    for run in candidates:
        keep_for = _policy(run)
        if keep_for is None or run.abandoned_at is None or run.abandoned_at > now - keep_for:
            continue
        counts["deleted" if _purge(run) else "kept"] += 1
        db.session.commit()
    if any(counts.values()):
        audit.record("system", "onramp", "runs.purge_abandoned", after=counts)
        db.session.commit()
    return counts


def _purge(run: JourneyRun) -> bool:
    """Empty ``run`` and delete it when nothing in the ledger points at it; True if deleted."""
    never_linked = select(Connection.id).where(
        Connection.run_id == run.id, Connection.linked_at.is_(None)
    )
    db.session.execute(delete(JourneyEvent).where(JourneyEvent.run_id == run.id))
    # Files uploaded on a run left unfinished go with it.
    db.session.execute(delete(Upload).where(Upload.run_id == run.id))
    db.session.execute(delete(JourneyFeedback).where(JourneyFeedback.run_id == run.id))
    db.session.execute(
        delete(OAuthFlow).where(
            (OAuthFlow.run_id == run.id) | OAuthFlow.connection_id.in_(never_linked)
        )
    )
    # Links to connect for the customer that never did: nothing to keep of them.
    db.session.execute(
        delete(Delegation).where(Delegation.run_id == run.id, Delegation.completed_at.is_(None))
    )
    db.session.execute(delete(Connection).where(Connection.id.in_(never_linked.scalar_subquery())))
    kept_by = (
        exists().where(ConsentRecord.run_id == run.id),
        exists().where(ConsentReceipt.run_id == run.id),
        exists().where(Connection.run_id == run.id),
    )
    if not db.session.scalar(select(kept_by[0] | kept_by[1] | kept_by[2])):
        db.session.delete(run)
        return True
    run.answers, run.completed_steps, run.return_url = {}, [], None
    run.visiting_step = None
    run.status = PURGED
    # Should the customer come back, they start again from the first step.
    journey = kept_journey(run.journey_id, run.journey_version)
    if journey is not None:
        run.current_step = journey.steps[0].id
    return False


@click.command("purge-abandoned")
@with_appcontext
def purge_abandoned_command() -> None:
    """Purge abandoned runs past their journey's retention.abandoned_runs_days."""
    counts = purge_abandoned()
    click.echo(
        f"{counts['deleted']} abandoned run(s) deleted, {counts['kept']} emptied and kept"
        " for the consent ledger."
    )

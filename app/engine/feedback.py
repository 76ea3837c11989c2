"""A customer's word on their journey: a rating and a one-line comment, once per run.

Offered on the done page and on the declined page when the journey's done step keeps
``feedback`` on (the default). Kept with the run (the comment is the customer's own words:
erased with them, part of their export), told to the business as ``journey.feedback``
(the rating, never the comment) and read by colleagues next to the funnel.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.engine.schema import DoneStep, Journey
from app.extensions import db
from app.models import JourneyFeedback, JourneyRun
from app.webhooks.outbox import emit

RATINGS = (1, 2, 3, 4, 5)
COMMENT_MAX_LENGTH = 300
# Where feedback is given: the run's status says which page the customer is on.
PAGES = {"completed": "done", "declined": "declined"}


def offered(journey: Journey) -> bool:
    """Whether the journey asks for feedback (its done step's ``feedback``, on by default)."""
    done = journey.first_of("done")
    return isinstance(done, DoneStep) and done.feedback


def page_for(run: JourneyRun, journey: Journey) -> str | None:
    """The page the customer may leave feedback on now (done or declined), if any."""
    return PAGES.get(run.status) if offered(journey) else None


def given(run: JourneyRun) -> JourneyFeedback | None:
    return db.session.scalars(
        select(JourneyFeedback).where(JourneyFeedback.run_id == run.id)
    ).first()


def leave(run: JourneyRun, page: str, rating: int, comment: str | None) -> bool:
    """Keep the customer's ``rating`` (1 to 5) and ``comment`` left on ``page``; once per run:
    a second one changes nothing and returns False. Commits."""
    if rating not in RATINGS or given(run) is not None:
        return False
    comment = (comment or "").strip()[:COMMENT_MAX_LENGTH] or None
    db.session.add(
        JourneyFeedback(
            run_id=run.id,
            customer_id=run.customer_id,
            journey_id=run.journey_id,
            journey_version=run.journey_version,
            step=page,
            rating=rating,
            comment=comment,
        )
    )
    emit(
        "journey.feedback",
        run.customer_id,
        run_id=run.public_id,
        journey_id=run.journey_id,
        journey_version=run.journey_version,
        step=page,
        rating=rating,
        comment=comment is not None,
    )
    try:
        db.session.commit()
    except IntegrityError:
        # The same run's feedback sent twice at once: the first one stays.
        db.session.rollback()
        return False
    return True

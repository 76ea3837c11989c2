"""What customers said of a journey, per version: the ratings and the latest comments.

Counted over the same runs as the funnel (those started in the period), so that each
version's feedback sits next to its conversion.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from app.analytics.funnel import Period, cohort
from app.engine.registry import get_journey
from app.extensions import db
from app.models import Customer, JourneyFeedback

RATINGS = (1, 2, 3, 4, 5)
# How many comments the funnel page shows, the newest first.
LATEST_COMMENTS = 20


@dataclass(frozen=True)
class VersionFeedback:
    version: str
    current: bool
    # How many runs left feedback with each rating, 1 (very hard) to 5 (very easy).
    ratings: dict[int, int]
    on_done: int
    on_declined: int

    @property
    def count(self) -> int:
        return sum(self.ratings.values())

    @property
    def average(self) -> float | None:
        if not self.count:
            return None
        return sum(rating * n for rating, n in self.ratings.items()) / self.count


@dataclass(frozen=True)
class Comment:
    at: datetime
    version: str
    step: str
    rating: int
    comment: str
    customer_id: str
    customer_name: str


@dataclass(frozen=True)
class FeedbackFigures:
    versions: list[VersionFeedback]
    comments: list[Comment]

    @property
    def count(self) -> int:
        return sum(v.count for v in self.versions)


def feedback_figures(journey_id: str, version: str | None, period: Period) -> FeedbackFigures:
    """The feedback left on the runs of ``journey_id`` (one ``version`` or all) started in
    ``period``: per version (the current one first), and the latest comments."""
    runs = cohort(journey_id, version, period)
    rows = db.session.execute(
        select(
            JourneyFeedback.journey_version,
            JourneyFeedback.step,
            JourneyFeedback.rating,
            func.count(),
        )
        .where(JourneyFeedback.run_id.in_(runs))
        .group_by(JourneyFeedback.journey_version, JourneyFeedback.step, JourneyFeedback.rating)
    ).all()
    counts: dict[str, dict[int, int]] = {}
    pages: dict[str, dict[str, int]] = {}
    for kept, step, rating, n in rows:
        ratings = counts.setdefault(kept, dict.fromkeys(RATINGS, 0))
        ratings[rating] = ratings.get(rating, 0) + n
        by_page = pages.setdefault(kept, {"done": 0, "declined": 0})
        by_page[step] = by_page.get(step, 0) + n
    current = get_journey(journey_id)
    versions = sorted(
        (
            VersionFeedback(
                kept,
                current is not None and kept == current.version,
                ratings,
                pages[kept]["done"],
                pages[kept]["declined"],
            )
            for kept, ratings in counts.items()
        ),
        key=lambda v: (not v.current, v.version),
    )
    latest = db.session.execute(
        select(JourneyFeedback, Customer.public_id, Customer.name)
        .join(Customer, Customer.id == JourneyFeedback.customer_id)
        .where(JourneyFeedback.run_id.in_(runs), JourneyFeedback.comment.is_not(None))
        .order_by(JourneyFeedback.created_at.desc(), JourneyFeedback.id.desc())
        .limit(LATEST_COMMENTS)
    ).all()
    comments = [
        Comment(
            feedback.created_at,
            feedback.journey_version,
            feedback.step,
            feedback.rating,
            feedback.comment or "",
            public_id,
            name,
        )
        for feedback, public_id, name in latest
    ]
    return FeedbackFigures(versions, comments)

"""Journey versions: each definition a run started on is kept, unchanged, by its hash.

A run finishes on the version it started with even when the file changes meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError

from app.engine.loading import parse_journey
from app.engine.registry import current_journeys, get_journey
from app.engine.schema import Journey
from app.extensions import db
from app.models import JourneyRun, JourneyVersion

CACHE_KEY = "onramp.journey_versions"


def record_version(journey: Journey) -> None:
    """Keep this definition if it is not kept yet (several workers may race: that's fine)."""
    if db.session.get(JourneyVersion, journey.version) is not None:
        return
    try:
        with db.session.begin_nested():
            db.session.add(
                JourneyVersion(
                    version=journey.version,
                    journey_id=journey.id,
                    definition=journey.model_dump(mode="json"),
                )
            )
    except IntegrityError:
        pass  # another worker kept it first


def journey_for_run(run: JourneyRun) -> Journey | None:
    """The exact journey version a run started on."""
    return kept_journey(run.journey_id, run.journey_version)


def kept_journey(journey_id: str, version: str) -> Journey | None:
    """A journey as it was at ``version``: the current file, or the kept copy.

    A version is the hash of its definition, so what it names never changes: once found,
    it is kept in memory and a run's every page needs no query to know its journey.
    """
    cache: dict[str, Journey] = current_app.extensions.setdefault(CACHE_KEY, {})
    journey = cache.get(version)
    if journey is None:
        current = get_journey(journey_id)
        if current is not None and current.version == version:
            journey = current
        else:
            kept = db.session.get(JourneyVersion, version)
            if kept is None:
                return None
            journey = parse_journey(kept.definition, Path(f"{kept.journey_id}@{version[:12]}"))
        cache[version] = journey
    return journey if journey.id == journey_id else None


@dataclass(frozen=True)
class VersionSummary:
    journey_id: str
    version: str
    created_at: datetime | None
    runs: int
    current: bool


def summaries(customer_ids: Select[Any] | None = None) -> list[VersionSummary]:
    """Every journey version, kept or current, with how many runs use it (only the runs
    of the customers ``customer_ids`` selects, when given)."""
    for journey in current_journeys().values():
        record_version(journey)
    db.session.commit()
    runs = select(JourneyRun.journey_version, func.count()).group_by(JourneyRun.journey_version)
    if customer_ids is not None:
        runs = runs.where(JourneyRun.customer_id.in_(customer_ids))
    counts = dict(db.session.execute(runs).all())
    current = {j.version for j in current_journeys().values()}
    rows = db.session.scalars(
        select(JourneyVersion).order_by(JourneyVersion.journey_id, JourneyVersion.created_at)
    )
    return [
        VersionSummary(
            v.journey_id, v.version, v.created_at, counts.get(v.version, 0), v.version in current
        )
        for v in rows
    ]

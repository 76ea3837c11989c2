"""Which journeys are current: the files in ``journeys/`` loaded at start-up, and the
journeys published in the console, which win over a file of the same id.

The database is asked once per request (or app context) how many journeys were ever
published; the published drafts are read again only when that number changes.
"""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, current_app, g
from sqlalchemy import func, select

from app.engine.loading import JourneyDefinitionError, check_yaml, load_each
from app.engine.schema import Journey
from app.extensions import db
from app.models import JourneyDraft

log = logging.getLogger(__name__)

EXTENSION_KEY = "onramp.journeys"
BROKEN_KEY = "onramp.broken_journeys"


def init_registry(app: Flask) -> None:
    """Load the journeys at start-up: a broken file is logged with its problems and
    skipped, the others keep working (the console's journeys page shows it too)."""
    journeys, broken = load_each(Path(app.config["JOURNEYS_DIR"]))
    app.extensions[EXTENSION_KEY] = journeys
    app.extensions[BROKEN_KEY] = broken
    for exc in broken:
        log.error("journey file skipped, it has problems:\n%s", exc)


def file_journeys() -> dict[str, Journey]:
    """The journeys of the files in ``journeys/``, as loaded at start-up."""
    return dict(current_app.extensions[EXTENSION_KEY])


def broken_files() -> list[JourneyDefinitionError]:
    """The journey files skipped at start-up, each with its problems."""
    return list(current_app.extensions.get(BROKEN_KEY, []))


def current_journeys() -> dict[str, Journey]:
    """Every journey's current version: a journey published in the console wins over its file."""
    return {**file_journeys(), **published_journeys()}


def get_journey(journey_id: str) -> Journey | None:
    """The current version of a journey (published in the console, else its file)."""
    return current_journeys().get(journey_id)


CACHE_KEY = "onramp.published_journeys"


_MEMO = "onramp_published_journeys"


def _published_rows() -> list[JourneyDraft]:
    return list(
        db.session.scalars(
            select(JourneyDraft)
            .where(JourneyDraft.status == "published")
            .order_by(JourneyDraft.published_at, JourneyDraft.id)
        )
    )


def published_journeys() -> dict[str, Journey]:
    """The journeys published in the console, the latest of each id.

    One cheap count per request (or app context) tells whether anything was published
    since this process last looked: only then are the published drafts read again.
    """
    if _MEMO in g:
        memo: dict[str, Journey] = getattr(g, _MEMO)
        return memo
    with db.session.no_autoflush:
        stamp = db.session.scalar(
            select(func.count()).select_from(JourneyDraft).where(JourneyDraft.status == "published")
        )
    cached: tuple[int, dict[str, Journey]] | None = current_app.extensions.get(CACHE_KEY)
    if cached is None or cached[0] != stamp:
        journeys: dict[str, Journey] = {}
        for row in _published_rows():
            checked = check_yaml(row.yaml_text)
            if checked.journey is None:
                # Valid when published; a later change of Onramp (a platform removed)
                # can break it. The file, if any, serves meanwhile.
                log.warning("published journey %s no longer loads", row.journey_id)
                continue
            journeys[checked.journey.id] = checked.journey
        cached = (stamp or 0, journeys)
        current_app.extensions[CACHE_KEY] = cached
    setattr(g, _MEMO, cached[1])
    return cached[1]


def forget_published() -> None:
    g.pop(_MEMO, None)


def latest_published(journey_id: str) -> JourneyDraft | None:
    return db.session.scalars(
        select(JourneyDraft)
        .where(JourneyDraft.status == "published", JourneyDraft.journey_id == journey_id)
        .order_by(JourneyDraft.published_at.desc(), JourneyDraft.id.desc())
        .limit(1)
    ).first()

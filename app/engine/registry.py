"""Which journeys are current: the files in ``journeys/`` loaded at start-up, and the
journeys published in the console, which win over a file of the same id.

The database is asked once per request (or app context) how many journeys were ever
published; the published drafts are read again only when that number changes.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from flask import Flask, current_app, g
from sqlalchemy import func, select

from app.engine.loading import JourneyDefinitionError, check_yaml, load_directory
from app.engine.schema import Journey
from app.extensions import db
from app.models import JourneyDraft

EXTENSION_KEY = "onramp.journeys"


def init_registry(app: Flask) -> None:
    """Load the journeys at start-up: a broken file stops the app with its problems.

    ``flask journeys ...`` still starts, so that it can report on the broken files.
    """
    try:
        app.extensions[EXTENSION_KEY] = load_directory(Path(app.config["JOURNEYS_DIR"]))
    except JourneyDefinitionError as exc:
        # `flask [--app X] journeys validate` must start to say what is wrong.
        if "journeys" in sys.argv[1:5]:
            app.extensions[EXTENSION_KEY] = {}
            return
        raise SystemExit(
            f"Onramp cannot start: a journey definition is invalid.\n{exc.problems[0][1]}"
        ) from exc


def file_journeys() -> dict[str, Journey]:
    """The journeys of the files in ``journeys/``, as loaded at start-up."""
    return dict(current_app.extensions[EXTENSION_KEY])


def current_journeys() -> dict[str, Journey]:
    """Every journey's current version: a journey published in the console wins over its file."""
    return {**file_journeys(), **published_journeys()}


def get_journey(journey_id: str) -> Journey | None:
    """The current version of a journey (published in the console, else its file)."""
    return current_journeys().get(journey_id)


log = logging.getLogger(__name__)


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

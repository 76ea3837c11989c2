"""Journeys edited in the console: drafts, checks as the editor types, and publishing.

A journey's YAML is saved as a draft; publishing a valid draft makes it that journey's
current version for new runs, in every process: the registry asks the database, once
per request, how many journeys were ever published, and reloads them only when that
number changes. A published journey wins over the file of the same id; runs already
started keep their own version (``versions.journey_for_run``).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app, g
from sqlalchemy import func, select

from app import audit
from app.extensions import db
from app.journey.definitions import (
    ID_PATTERN,
    Journey,
    JourneyDefinitionError,
    Problem,
    check_journey,
    file_journeys,
    journey_files,
    parse_journey,
    read_yaml,
)
from app.journey.versions import record_version
from app.models import JourneyDraft, utcnow

log = logging.getLogger(__name__)

CACHE_KEY = "onramp.published_journeys"
_MEMO = "onramp_published_journeys"
# A journey's YAML is a few kilobytes; this leaves room and refuses the absurd.
MAX_YAML_CHARS = 200_000
NEW_JOURNEY_YAML = """\
id: new-journey
name: A new journey
locales: [en]
business:
  name: Your business
  purpose: to decide on your application
steps:
  - id: welcome
    type: welcome
    title: Welcome
  - id: done
    type: done
    title: Thank you
"""


class DraftError(Exception):
    """A draft action that cannot be done, with the problems that stop it."""

    def __init__(self, message: str, problems: list[Problem] | None = None):
        super().__init__(message)
        self.problems = problems or []


@dataclass(frozen=True)
class Checked:
    """What checking a journey's YAML found: the journey when valid, else its problems."""

    journey: Journey | None
    journey_id: str | None
    problems: list[Problem] = field(default_factory=list)


def _root() -> Path:
    return Path(current_app.config["JOURNEYS_DIR"])


def check_yaml(text: str) -> Checked:
    """Check a journey's YAML as ``flask journeys validate`` would, without a file.

    Every problem names where it is, such as ``steps[2].items[0].category.fr``.
    """
    source = Path("draft")
    if not text.strip():
        return Checked(None, None, [("", "the journey is empty: write or upload its YAML")])
    if len(text) > MAX_YAML_CHARS:
        return Checked(None, None, [("", f"longer than {MAX_YAML_CHARS:,} characters")])
    try:
        data = read_yaml(text, source)
    except JourneyDefinitionError as exc:
        return Checked(None, None, exc.problems)
    raw_id = data.get("id") if isinstance(data, dict) else None
    journey_id = raw_id if isinstance(raw_id, str) and re.match(ID_PATTERN, raw_id) else None
    try:
        journey = parse_journey(data, source)
    except JourneyDefinitionError as exc:
        return Checked(None, journey_id, exc.problems)
    problems = check_journey(journey, _root())
    return Checked(None if problems else journey, journey.id, problems)


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


def _forget_memo() -> None:
    g.pop(_MEMO, None)


def origin(journey_id: str) -> str | None:
    """Where a current journey comes from: ``published`` (the console) or ``file``."""
    if journey_id in published_journeys():
        return "published"
    if journey_id in file_journeys():
        return "file"
    return None


def current_yaml(journey_id: str) -> str | None:
    """The YAML of a journey's current version: the latest published, else its file."""
    published = latest_published(journey_id)
    if published is not None:
        return published.yaml_text
    for path in journey_files(_root()):
        if path.stem == journey_id:
            return path.read_text(encoding="utf-8")
    return None


def latest_published(journey_id: str) -> JourneyDraft | None:
    return db.session.scalars(
        select(JourneyDraft)
        .where(JourneyDraft.status == "published", JourneyDraft.journey_id == journey_id)
        .order_by(JourneyDraft.published_at.desc(), JourneyDraft.id.desc())
        .limit(1)
    ).first()


def open_drafts(journey_id: str | None = None) -> list[JourneyDraft]:
    """Drafts not yet published or discarded, newest first."""
    query = select(JourneyDraft).where(JourneyDraft.status == "draft")
    if journey_id is not None:
        query = query.where(JourneyDraft.journey_id == journey_id)
    return list(db.session.scalars(query.order_by(JourneyDraft.updated_at.desc())))


def find_draft(public_id: str) -> JourneyDraft | None:
    """A draft by its public id (discarded ones are gone for good)."""
    return db.session.scalars(
        select(JourneyDraft).where(
            JourneyDraft.public_id == public_id, JourneyDraft.status != "discarded"
        )
    ).first()


def _state(draft: JourneyDraft | None) -> dict[str, str | None] | None:
    if draft is None:
        return None
    return {"journey_id": draft.journey_id, "version": draft.version, "status": draft.status}


def save_draft(
    text: str, actor: str, draft: JourneyDraft | None = None
) -> tuple[JourneyDraft, Checked]:
    """Save YAML as a new draft, or over ``draft``; problems don't stop a save.

    The YAML needs a readable journey ``id`` to be filed under. Audited.
    """
    if draft is not None and draft.status != "draft":
        raise DraftError("This draft was published and can no longer change: start a new one.")
    checked = check_yaml(text)
    if checked.journey_id is None:
        problems = checked.problems or [("id", "a journey id is needed to save a draft")]
        raise DraftError("The draft could not be saved: it needs a readable journey id.", problems)
    before = _state(draft)
    if draft is None:
        draft = JourneyDraft(author=actor)
        db.session.add(draft)
    draft.journey_id = checked.journey_id
    draft.yaml_text = text
    draft.version = checked.journey.version if checked.journey else None
    draft.updated_at = utcnow()
    db.session.flush()
    action = "journey.draft_created" if before is None else "journey.draft_saved"
    audit.record("user", actor, action, "journey_draft", draft.public_id, before, _state(draft))
    db.session.commit()
    return draft, checked


def publish(draft: JourneyDraft, actor: str) -> Journey:
    """Make a valid draft its journey's current version, for new runs. Audited."""
    if draft.status != "draft":
        raise DraftError("Only a draft can be published.")
    checked = check_yaml(draft.yaml_text)
    if checked.journey is None:
        raise DraftError("Fix the problems before publishing.", checked.problems)
    journey = checked.journey
    current = file_journeys().get(journey.id)
    current = published_journeys().get(journey.id, current)
    if current is not None and current.version == journey.version:
        raise DraftError("This draft is the same as the current version: nothing to publish.")
    draft.status = "published"
    draft.journey_id = journey.id
    draft.version = journey.version
    draft.published_at = utcnow()
    draft.published_by = actor
    record_version(journey)
    audit.record(
        "user",
        actor,
        "journey.published",
        "journey",
        journey.id,
        {"version": current.version if current else None},
        {"version": journey.version, "draft": draft.public_id},
    )
    db.session.commit()
    _forget_memo()
    return journey


def discard(draft: JourneyDraft, actor: str) -> None:
    """Throw a draft away. Audited."""
    if draft.status != "draft":
        raise DraftError("Only a draft can be discarded.")
    before = _state(draft)
    draft.status = "discarded"
    audit.record(
        "user", actor, "journey.draft_discarded", "journey_draft", draft.public_id, before, None
    )
    db.session.commit()

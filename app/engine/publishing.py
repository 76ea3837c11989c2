"""Journeys edited in the console: drafts, checks as the editor types, and publishing.

A journey's YAML is saved as a draft; publishing a valid draft makes it that journey's
current version for new runs, in every process (see ``registry.published_journeys``). A
published journey wins over the file of the same id; runs already started keep their own
version (``versions.journey_for_run``).
"""

from __future__ import annotations

from sqlalchemy import select

from app import audit, clock
from app.engine.loading import Checked, check_yaml, journey_files, journeys_dir
from app.engine.registry import (
    file_journeys,
    forget_published,
    latest_published,
    published_journeys,
)
from app.engine.schema import Journey, Problem
from app.engine.versions import record_version
from app.extensions import db
from app.models import JourneyDraft

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
    for path in journey_files(journeys_dir()):
        if path.stem == journey_id:
            return path.read_text(encoding="utf-8")
    return None


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
    draft.updated_at = clock.now()
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
    draft.published_at = clock.now()
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
    forget_published()
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

"""A colleague's preview of a journey: the customer's steps, with nothing recorded.

The preview's answers live in the colleague's own (signed) session cookie, never in
the database: no customer, run, consent, event, outbox event or connection is made.
The engine decides the steps exactly as for a customer (``steps.advance``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from flask import session

from app.engine import steps
from app.engine.loading import check_yaml
from app.engine.publishing import find_draft
from app.engine.registry import current_journeys
from app.engine.schema import Journey, PlatformSelectStep, Step
from app.engine.versions import kept_journey

SESSION_KEY = "journey_preview"
DRAFT_PREFIX = "draft-"


class PreviewUnavailable(Exception):
    """A draft with problems cannot be previewed: these are what to fix first."""

    def __init__(self, problems: list[tuple[str, str]]):
        super().__init__("the draft has problems")
        self.problems = problems


@dataclass
class PreviewRun:
    """Where the colleague is in the preview; it reads like a run to the engine."""

    source: str
    locale: str
    brand: str | None = None
    answers: dict[str, Any] = field(default_factory=dict)
    completed_steps: list[str] = field(default_factory=list)
    status: str = "active"


def draft_source(draft_public_id: str) -> str:
    return f"{DRAFT_PREFIX}{draft_public_id}"


def resolve(journey_id: str, source: str) -> Journey | None:
    """The journey a preview shows: a version (current or kept) or a draft.

    Raises PreviewUnavailable for a draft that is not a valid journey yet.
    """
    if source.startswith(DRAFT_PREFIX):
        draft = find_draft(source.removeprefix(DRAFT_PREFIX))
        if draft is None or draft.journey_id != journey_id:
            return None
        checked = check_yaml(draft.yaml_text)
        if checked.journey is None:
            raise PreviewUnavailable(checked.problems)
        return checked.journey
    return kept_journey(journey_id, source)


def brands() -> dict[str, Journey]:
    """The journeys whose branding a preview can borrow, by id."""
    return dict(sorted(current_journeys().items()))


def branded(journey: Journey, brand: str | None) -> Journey:
    """The journey dressed in another journey's branding, to try it on."""
    other = brands().get(brand or "")
    if other is None or other.id == journey.id:
        return journey
    business = journey.business.model_copy(update={"brand": other.business.brand})
    return journey.model_copy(update={"business": business})


def start(source: str, journey: Journey, locale: str | None, brand: str | None) -> PreviewRun:
    """A fresh preview at the first step, in ``locale`` (default: the journey's)."""
    run = PreviewRun(
        source=source,
        locale=locale if locale in journey.locales else journey.default_locale,
        brand=brand if brand in brands() else None,
    )
    save(run)
    return run


def load(source: str, journey: Journey) -> PreviewRun:
    """The colleague's preview of ``source``, or a fresh one if they have none."""
    stored = session.get(SESSION_KEY)
    if isinstance(stored, dict) and stored.get("source") == source:
        try:
            run = PreviewRun(**stored)
        except TypeError:
            pass  # a cookie from an older shape: start again
        else:
            if run.locale in journey.locales:
                return run
    return start(source, journey, None, None)


def save(run: PreviewRun) -> None:
    # Only the latest preview is kept: the cookie stays small.
    session[SESSION_KEY] = asdict(run)


def complete(run: PreviewRun, journey: Journey, step: Step, answers: dict[str, Any]) -> Step:
    """Finish a step with ``answers`` as a customer would; return the step to show next."""
    moved = steps.advance(run, journey, step, answers)
    run.answers = moved.answers
    run.completed_steps = moved.completed_steps
    run.status = "active"
    if moved.following.type == "done":
        done = journey.steps[-1]
        if done.id not in run.completed_steps:
            run.completed_steps = [*run.completed_steps, done.id]
        run.status = "completed"
    save(run)
    return moved.following


def note_not_listed(run: PreviewRun, step: PlatformSelectStep, software: str) -> None:
    """The colleague named software the step doesn't list: kept with the step's answers
    as for a customer, with no event and nothing told to anyone."""
    answers = {**steps.answers_for(run, step.id), steps.NOT_LISTED: software}
    run.answers = {**run.answers, step.id: answers}
    save(run)


def choose_upload(run: PreviewRun, journey: Journey) -> Step:
    """The colleague chose to upload instead of connecting, as a customer may."""
    if journey.fallback_upload is None:
        return steps.current_step(run, journey)
    run.answers = {**run.answers, steps.UPLOAD_INSTEAD_KEY: True}
    save(run)
    return journey.fallback_upload


def choose_connect(run: PreviewRun, journey: Journey) -> Step:
    run.answers = {k: v for k, v in run.answers.items() if k != steps.UPLOAD_INSTEAD_KEY}
    save(run)
    return steps.current_step(run, journey)


def decline(run: PreviewRun) -> None:
    run.status = "declined"
    save(run)


def reconsider(run: PreviewRun) -> None:
    run.status = "active"
    save(run)


def change_locale(run: PreviewRun, journey: Journey, locale: str | None) -> None:
    if locale in journey.locales:
        run.locale = str(locale)
        save(run)

"""The review step's summary: every answer so far, with where to change it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_babel import format_date
from flask_babel import gettext as _

from app.engine import steps
from app.engine.schema import (
    ConsentStep,
    FormField,
    FormStep,
    InstructionsStep,
    Journey,
    PlatformSelectStep,
    Step,
)
from app.platforms import Platform, get_platform


@dataclass(frozen=True)
class Section:
    step_id: str
    title: str
    rows: list[tuple[str, str]] = field(default_factory=list)


def _shown_value(journey: Journey, spec: FormField, value: object, locale: str) -> str:
    if value is None or value == "":
        return _("Not given")
    if spec.type == "checkbox":
        return _("Yes") if value else _("No")
    if spec.type == "date" and isinstance(value, str):
        return format_date(date.fromisoformat(value), format="long")
    for option in spec.options:
        if option.value == value:
            return journey.text(option.label, locale)
    return str(value)


def summary(run: steps.Progress, journey: Journey, until: str) -> list[Section]:
    """The answers of the shown steps before ``until``, in journey order."""
    sections: list[Section] = []
    for step in steps.applicable_steps(journey, run.answers):
        if step.id == until:
            break
        answers = run.answers.get(step.id)
        if answers is None:
            continue
        title = journey.text(step.title, run.locale)
        if isinstance(step, ConsentStep):
            granted = set(answers.get("granted", []))
            rows = [
                (
                    journey.text(item.category, run.locale),
                    _("You agree to share this") if item.key in granted else _("You declined"),
                )
                for item in step.items
            ]
        elif isinstance(step, PlatformSelectStep):
            platform = get_platform(str(answers.get("platform")))
            rows = [(_("Accounting software"), platform.name if platform else _("Not given"))]
        elif isinstance(step, FormStep):
            rows = [
                (
                    journey.text(spec.label, run.locale),
                    _shown_value(journey, spec, answers.get(spec.name), run.locale),
                )
                for spec in step.fields
            ]
        else:
            continue
        sections.append(Section(step.id, title, rows))
    return sections


def continue_step_context(run: steps.Progress, journey: Journey, step: Step) -> dict[str, Any]:
    """What an instructions or review step shows besides its own text: the chosen
    platform's instructions (or the journey's override for it), or the answers so far.
    The customer's journey and the console's preview render the same."""
    extra: dict[str, Any] = {}
    if isinstance(step, InstructionsStep):
        platform = steps.chosen_platform(run, journey)
        extra["platform"] = platform
        if platform is not None:
            override = step.overrides.get(platform.key)
            extra["instructions"] = (
                journey.text(override, run.locale) if override else str(platform.instructions)
            )
    if step.type == "review":
        extra["sections"] = summary(run, journey, until=step.id)
    return extra


def connect_instructions(journey: Journey, platform: Platform) -> str | None:
    """How to connect ``platform``, shown on the connect step itself when no instructions
    step comes before it (one page, not two near-identical ones)."""
    if journey.first_of("instructions") is not None:
        return None
    return str(platform.instructions)

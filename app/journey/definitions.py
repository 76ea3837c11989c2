"""Journey definitions: YAML files in ``journeys/``, validated with pydantic on load.

A journey's version is the SHA-256 of its canonical content, so a run and every
consent record can say exactly which wording the customer saw.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterable
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from flask import Flask, current_app
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, ValidationError, model_validator

from app.connections.catalogue import PLATFORMS

ID_PATTERN = r"^[a-z][a-z0-9_-]{0,63}$"
EXTENSION_KEY = "onramp.journeys"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Business(_Strict):
    name: str = Field(min_length=1, max_length=200)
    purpose: str = Field(min_length=1, description="Why the business asks for the data.")
    privacy_url: HttpUrl | None = None
    support_email: str | None = None


class _Step(_Strict):
    id: str = Field(pattern=ID_PATTERN)
    title: str = Field(min_length=1, max_length=200)
    body: str = ""


class WelcomeStep(_Step):
    type: Literal["welcome"]


class ConsentItem(_Strict):
    key: str = Field(pattern=ID_PATTERN)
    category: str = Field(min_length=1, description="The data category, in plain words.")
    purpose: str = Field(min_length=1)
    retention: str = Field(min_length=1, description="How long the data is kept.")
    recipients: str = Field(min_length=1, description="Who receives the data.")
    required: bool = False

    @property
    def text(self) -> str:
        """The exact wording shown for this item, as kept on every consent record."""
        return (
            f"{self.category}\n"
            f"Why: {self.purpose}\n"
            f"How long we keep it: {self.retention}\n"
            f"Who receives it: {self.recipients}\n"
            f"{'Required' if self.required else 'Optional'}"
        )


class ConsentStep(_Step):
    type: Literal["consent"]
    items: list[ConsentItem] = Field(min_length=1)
    decline_text: str = Field(min_length=1, description="What declining means for the customer.")

    @model_validator(mode="after")
    def _unique_keys(self) -> ConsentStep:
        _reject_duplicates((item.key for item in self.items), "consent item key")
        return self


class PlatformSelectStep(_Step):
    type: Literal["platform_select"]
    platforms: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _known_platforms(self) -> PlatformSelectStep:
        unknown = [p for p in self.platforms if p not in PLATFORMS]
        if unknown:
            known = ", ".join(sorted(PLATFORMS))
            raise ValueError(f"unknown platform {unknown[0]!r} (known: {known})")
        _reject_duplicates(self.platforms, "platform")
        return self


class InstructionsStep(_Step):
    type: Literal["instructions"]
    # Markdown per platform key, replacing the platform's default instructions.
    overrides: dict[str, str] = Field(default_factory=dict)


class ConnectStep(_Step):
    type: Literal["connect"]


class DoneStep(_Step):
    type: Literal["done"]


Step = Annotated[
    WelcomeStep | ConsentStep | PlatformSelectStep | InstructionsStep | ConnectStep | DoneStep,
    Field(discriminator="type"),
]
STEP_TYPES = ("welcome", "consent", "platform_select", "instructions", "connect", "done")


class Journey(_Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1)
    business: Business
    default_locale: str = "en"
    steps: list[Step] = Field(min_length=2)

    @model_validator(mode="after")
    def _coherent(self) -> Journey:
        _reject_duplicates((s.id for s in self.steps), "step id")
        types = [s.type for s in self.steps]
        if types[-1] != "done":
            raise ValueError("the last step must be of type 'done'")
        if types.count("done") != 1:
            raise ValueError("a journey has exactly one 'done' step")
        for needs, before in (("instructions", "platform_select"), ("connect", "platform_select")):
            if needs in types and (before not in types or types.index(before) > types.index(needs)):
                raise ValueError(f"a '{needs}' step must come after a '{before}' step")
        if "platform_select" in types and "connect" not in types:
            raise ValueError("a journey that asks for a platform needs a 'connect' step")
        return self

    @cached_property
    def version(self) -> str:
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    def step(self, step_id: str) -> Step | None:
        return next((s for s in self.steps if s.id == step_id), None)

    def first_of(self, step_type: str) -> Step | None:
        return next((s for s in self.steps if s.type == step_type), None)

    def index(self, step_id: str) -> int:
        return next(i for i, s in enumerate(self.steps) if s.id == step_id)


def _reject_duplicates(values: Iterable[str], what: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"duplicate {what} {value!r}")
        seen.add(value)


class JourneyDefinitionError(Exception):
    """A journey file that cannot be used, with every problem found in it."""

    def __init__(self, path: Path, problems: list[tuple[str, str]]):
        self.path = path
        self.problems = problems
        lines = [
            f"{path}: {where}: {what}" if where else f"{path}: {what}" for where, what in problems
        ]
        super().__init__("\n".join(lines))


def _location(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for i, part in enumerate(loc):
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif part in STEP_TYPES and i > 0 and isinstance(loc[i - 1], int):
            continue  # pydantic's name for the union member, not a place in the file
        else:
            parts.append(("." if parts else "") + part)
    return "".join(parts)


def load_journey(path: Path) -> Journey:
    """Read and validate one journey file; raise JourneyDefinitionError naming what is wrong."""
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise JourneyDefinitionError(path, [("", f"cannot be read ({exc.strerror})")]) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise JourneyDefinitionError(path, [(where, f"not valid YAML: {problem}")]) from exc
    if not isinstance(data, dict):
        raise JourneyDefinitionError(
            path, [("", "must be a mapping with id, name, business, steps")]
        )
    try:
        journey = Journey.model_validate(data)
    except ValidationError as exc:
        problems = [(_location(err["loc"]), _message(err)) for err in exc.errors()]
        raise JourneyDefinitionError(path, problems) from exc
    if journey.id != path.stem:
        raise JourneyDefinitionError(path, [("id", f"must match the file name ({path.stem!r})")])
    return journey


def _message(err: Any) -> str:
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        return "unknown field"
    return msg


def load_directory(directory: Path) -> dict[str, Journey]:
    """Load every ``*.yaml`` journey in a directory, reporting all broken files at once."""
    journeys: dict[str, Journey] = {}
    errors: list[str] = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            journey = load_journey(path)
        except JourneyDefinitionError as exc:
            errors.append(str(exc))
            continue
        journeys[journey.id] = journey
    if errors:
        raise JourneyDefinitionError(directory, [("", "\n".join(errors))])
    return journeys


def init_registry(app: Flask) -> None:
    """Load the journeys at start-up: a broken file stops the app with its problems.

    ``flask journeys ...`` still starts, so that it can report on the broken files.
    """
    try:
        app.extensions[EXTENSION_KEY] = load_directory(Path(app.config["JOURNEYS_DIR"]))
    except JourneyDefinitionError as exc:
        if sys.argv[1:2] == ["journeys"]:
            app.extensions[EXTENSION_KEY] = {}
            return
        raise SystemExit(
            f"Onramp cannot start: a journey definition is invalid.\n{exc.problems[0][1]}"
        ) from exc


def get_journey(journey_id: str) -> Journey | None:
    journeys: dict[str, Journey] = current_app.extensions[EXTENSION_KEY]
    return journeys.get(journey_id)


def json_schema() -> dict[str, Any]:
    return Journey.model_json_schema()

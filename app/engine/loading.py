"""Reading journeys: YAML text or files in ``journeys/`` into a checked :class:`Journey`,
or the problems that stop it, each naming where it is."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from flask import current_app
from pydantic import (
    ValidationError,
)

from app.engine.checks import check_journey
from app.engine.schema import ID_PATTERN, STEP_TYPES, Journey, Problem


class JourneyDefinitionError(Exception):
    """A journey file that cannot be used, with every problem found in it."""

    def __init__(self, path: Path, problems: list[Problem]):
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
        elif part in ("str", "dict[str,str]"):
            continue  # the alternatives of a translatable text
        else:
            parts.append(("." if parts else "") + part)
    return "".join(parts)


def _message(err: Any) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown field"
    if err["type"] == "union_tag_invalid":
        return f"unknown step type {err['input'].get('type')!r} (known: {', '.join(STEP_TYPES)})"
    return str(err["msg"]).removeprefix("Value error, ")


def parse_journey(data: Any, path: Path) -> Journey:
    """Validate journey data (from a file or the versions table)."""
    if not isinstance(data, dict):
        raise JourneyDefinitionError(
            path, [("", "must be a mapping with id, name, business, steps")]
        )
    try:
        journey = Journey.model_validate(data)
    except ValidationError as exc:
        problems = list(dict.fromkeys((_location(e["loc"]), _message(e)) for e in exc.errors()))
        raise JourneyDefinitionError(path, problems) from exc
    return journey


def read_yaml(text: str, path: Path) -> Any:
    """Parse YAML text; a syntax error becomes a JourneyDefinitionError with its line."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise JourneyDefinitionError(path, [(where, f"not valid YAML: {problem}")]) from exc
    except (ValueError, RecursionError) as exc:
        # PyYAML builds values while parsing: a date like 2024-13-45, an integer of
        # thousands of digits, or thousands of nested brackets fail there, not as YAML.
        problem = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise JourneyDefinitionError(path, [("", f"not valid YAML: {problem[:200]}")]) from exc


def journey_from_yaml(text: str, path: Path, root: Path | None = None) -> Journey:
    """Read and validate a journey's YAML; raise JourneyDefinitionError naming what is wrong.

    ``path`` names the source in messages; ``root`` is where the logo is looked up.
    """
    journey = parse_journey(read_yaml(text, path), path)
    problems = check_journey(journey, root)
    if problems:
        raise JourneyDefinitionError(path, problems)
    return journey


def load_journey(path: Path) -> Journey:
    """Read and validate one journey file; raise JourneyDefinitionError naming what is wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise JourneyDefinitionError(path, [("", f"cannot be read ({exc.strerror})")]) from exc
    journey = parse_journey(read_yaml(text, path), path)
    problems = check_journey(journey, path.parent)
    if journey.id != path.stem:
        problems.insert(0, ("id", f"must match the file name ({path.stem!r})"))
    if problems:
        raise JourneyDefinitionError(path, problems)
    return journey


def journey_files(directory: Path) -> list[Path]:
    return sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])


def load_directory(directory: Path) -> dict[str, Journey]:
    """Load every ``*.yaml`` journey in a directory, reporting all broken files at once."""
    journeys: dict[str, Journey] = {}
    errors: list[str] = []
    for path in journey_files(directory):
        try:
            journey = load_journey(path)
        except JourneyDefinitionError as exc:
            errors.append(str(exc))
            continue
        journeys[journey.id] = journey
    if errors:
        raise JourneyDefinitionError(directory, [("", "\n".join(errors))])
    return journeys


# A journey's YAML is a few kilobytes; this leaves room and refuses the absurd.
MAX_YAML_CHARS = 200_000


@dataclass(frozen=True)
class Checked:
    """What checking a journey's YAML found: the journey when valid, else its problems."""

    journey: Journey | None
    journey_id: str | None
    problems: list[Problem] = field(default_factory=list)


def journeys_dir() -> Path:
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
    problems = check_journey(journey, journeys_dir())
    return Checked(None if problems else journey, journey.id, problems)

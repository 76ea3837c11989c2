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
        lines = [f"{path}{_joined(where)}{what}" for where, what in problems]
        super().__init__("\n".join(lines))


def _joined(where: str) -> str:
    """``journeys/x.yaml, line 4, step 'a': when: …``; ``journeys/x.yaml: id: …``."""
    if not where:
        return ": "
    return (", " if where.startswith(("line ", "step ")) else ": ") + where + ": "


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


Place = tuple[str | int, ...]
MAX_PLACES = 50_000
_PART = re.compile(r"\[(\d+)\]|\.?([^.\[]+)")


def _parts(where: str) -> Place:
    return tuple(int(m[1]) if m[1] is not None else m[2] for m in _PART.finditer(where))


def line_numbers(text: str) -> dict[Place, int]:
    """The line (from 1) where each place of a YAML document starts: ``("steps", 3,
    "when")`` is the line of the fourth step's ``when:``. Empty if the text is not YAML."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except (yaml.YAMLError, RecursionError, ValueError):
        return {}
    lines: dict[Place, int] = {}
    pending: list[tuple[Place, yaml.Node]] = [((), root)] if root is not None else []
    # Aliases can make a short text into a huge tree: only so many places are looked at.
    budget = MAX_PLACES
    while pending:
        place, node = pending.pop()
        lines.setdefault(place, node.start_mark.line + 1)
        if len(place) > 12:
            continue
        children: list[tuple[Place, yaml.Node]] = []
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    lines.setdefault((*place, key.value), key.start_mark.line + 1)
                    children.append(((*place, key.value), value))
        elif isinstance(node, yaml.SequenceNode):
            children = [((*place, i), item) for i, item in enumerate(node.value)]
        budget -= len(children)
        if budget < 0:
            break
        pending += children
    return lines


def locate(problems: list[Problem], data: Any, lines: dict[Place, int]) -> list[Problem]:
    """Problems placed as people read a file: ``steps[3].when`` becomes ``line 42, step
    'software': when``, the line where it is and the step's own id."""
    steps = data.get("steps") if isinstance(data, dict) else None
    located: list[Problem] = []
    for where, what in problems:
        if not where:
            located.append((where, what))
            continue
        parts = _parts(where)
        # The place itself, else the nearest place around it (a missing field: its step).
        line = next((lines[parts[:n]] for n in range(len(parts), -1, -1) if parts[:n] in lines), 0)
        bits = [f"line {line}"] if line else []
        rest = where
        if len(parts) >= 2 and parts[0] == "steps" and isinstance(parts[1], int):
            index = parts[1]
            step = steps[index] if isinstance(steps, list) and index < len(steps) else None
            step_id = step.get("id") if isinstance(step, dict) else None
            named = isinstance(step_id, str) and step_id and len(step_id) <= 64
            bits.append(f"step {step_id!r}" if named else f"step {index + 1}")
            rest = where.removeprefix(f"steps[{index}]").removeprefix(".")
        label = ", ".join(bits)
        located.append((f"{label}: {rest}" if label and rest else label or rest, what))
    return located


def parse_journey(data: Any, path: Path, lines: dict[Place, int] | None = None) -> Journey:
    """Validate journey data (from a file or the versions table); ``lines`` places the
    problems on the lines of the YAML it was read from."""
    if not isinstance(data, dict):
        raise JourneyDefinitionError(
            path, [("", "must be a mapping with id, name, business, steps")]
        )
    try:
        journey = Journey.model_validate(data)
    except ValidationError as exc:
        problems = list(dict.fromkeys((_location(e["loc"]), _message(e)) for e in exc.errors()))
        raise JourneyDefinitionError(path, locate(problems, data, lines or {})) from exc
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
    data = read_yaml(text, path)
    lines = line_numbers(text)
    journey = parse_journey(data, path, lines)
    problems = check_journey(journey, root)
    if problems:
        raise JourneyDefinitionError(path, locate(problems, data, lines))
    return journey


def load_journey(path: Path) -> Journey:
    """Read and validate one journey file; raise JourneyDefinitionError naming what is wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise JourneyDefinitionError(path, [("", f"cannot be read ({exc.strerror})")]) from exc
    data = read_yaml(text, path)
    lines = line_numbers(text)
    journey = parse_journey(data, path, lines)
    problems = check_journey(journey, path.parent)
    if journey.id != path.stem:
        problems.insert(0, ("id", f"must match the file name ({path.stem!r})"))
    if problems:
        raise JourneyDefinitionError(path, locate(problems, data, lines))
    return journey


def journey_files(directory: Path) -> list[Path]:
    return sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])


def load_each(directory: Path) -> tuple[dict[str, Journey], list[JourneyDefinitionError]]:
    """Load every ``*.yaml`` journey in a directory: the valid ones, and each broken file
    with its problems (a broken file does not stop the others)."""
    journeys: dict[str, Journey] = {}
    broken: list[JourneyDefinitionError] = []
    for path in journey_files(directory):
        try:
            journey = load_journey(path)
        except JourneyDefinitionError as exc:
            broken.append(exc)
            continue
        journeys[journey.id] = journey
    return journeys, broken


def load_directory(directory: Path) -> dict[str, Journey]:
    """Load every ``*.yaml`` journey in a directory, reporting all broken files at once."""
    journeys, broken = load_each(directory)
    if broken:
        raise JourneyDefinitionError(directory, [("", "\n".join(str(exc) for exc in broken))])
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
    lines = line_numbers(text)
    try:
        journey = parse_journey(data, source, lines)
    except JourneyDefinitionError as exc:
        return Checked(None, journey_id, exc.problems)
    problems = locate(check_journey(journey, journeys_dir()), data, lines)
    return Checked(None if problems else journey, journey.id, problems)

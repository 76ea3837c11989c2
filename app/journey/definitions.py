"""Journey definitions: YAML files in ``journeys/``, validated with pydantic on load.

Pydantic checks each field's shape; ``check_journey`` then checks the journey as a
whole (order of steps, conditions, translations, references, colours) and reports
every problem at once. A journey's version is the SHA-256 of its canonical content,
so a run and every consent record can say exactly which wording the customer saw.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Iterator
from functools import cached_property
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin
from urllib.parse import urlsplit

import yaml
from flask import Flask, current_app
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    ValidationError,
    field_validator,
)

from app.connections.catalogue import PLATFORMS
from app.journey.branding import Brand
from app.journey.conditions import Condition, ConditionError, parse_condition

ID_PATTERN = r"^[a-z][a-z0-9_-]{0,63}$"
LOCALE_PATTERN = r"^[a-z]{2}(-[A-Z]{2})?$"
EXTENSION_KEY = "onramp.journeys"
# Paths a step id must not take: they are routes of their own.
RESERVED_STEP_IDS = {"declined", "language", "organisation"}


class _Translatable:
    """Marks a field whose text is shown to customers and so needs every locale."""


# Either one string (a journey in one language) or one string per locale.
LocalText = Annotated[str | dict[str, str], _Translatable]


def localise(value: str | dict[str, str] | None, locale: str, fallback: str) -> str:
    """The text of ``value`` in ``locale``, else in the journey's default locale."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return value.get(locale) or value.get(fallback) or next(iter(value.values()), "")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Business(_Strict):
    name: str = Field(min_length=1, max_length=200)
    purpose: LocalText = Field(description="Why the business asks for the data.")
    privacy_url: HttpUrl | None = None
    terms_url: HttpUrl | None = None
    support_email: str | None = None
    support_phone: str | None = None
    brand: Brand = Field(default_factory=Brand)


class ConsentPolicy(_Strict):
    """How long consent lasts and under which rules it was asked (kept on every record)."""

    lifetime_days: int | None = Field(
        default=None,
        ge=1,
        le=3650,
        description="Days a grant lasts before it must be reconfirmed; none: until withdrawn.",
    )
    reminder_days: int = Field(
        default=14, ge=1, le=365, description="Days before expiry the customer is reminded."
    )
    jurisdiction: str = Field(
        default="GB",
        pattern=r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$",
        description="Where the consent is given (ISO 3166 code), as the receipt states.",
    )
    policy_version: str | None = Field(
        default=None,
        max_length=64,
        description="The privacy policy's version; the journey version when not given.",
    )


class Retention(_Strict):
    """How long what a customer left unfinished is kept."""

    abandoned_runs_days: int | None = Field(
        default=None,
        ge=1,
        le=3650,
        description="Days after which an abandoned run's answers and events are purged.",
    )


ORIGIN_PATTERN = r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$"


class Integration(_Strict):
    """Where the business's own site meets the journey."""

    allowed_origins: list[Annotated[str, Field(pattern=ORIGIN_PATTERN)]] = Field(
        default_factory=list,
        description="Origins (scheme://host[:port]) that may embed the journey in a frame "
        "and receive its events.",
    )
    return_urls: list[HttpUrl] = Field(
        default_factory=list,
        description="URLs (or URL prefixes) a link may send the customer back to when done.",
    )

    def allows_return_to(self, url: str) -> bool:
        """Whether ``url`` is, or lies under, one of the allowed return URLs."""
        asked = urlsplit(url)
        if asked.scheme not in ("http", "https") or not asked.netloc or asked.username:
            return False
        for allowed in self.return_urls:
            base = urlsplit(str(allowed))
            if (asked.scheme, asked.netloc.lower()) != (base.scheme, base.netloc.lower()):
                continue
            prefix = base.path.rstrip("/")
            if asked.path == prefix or asked.path.startswith(prefix + "/") or not prefix:
                return True
        return False


class _Step(_Strict):
    id: str = Field(pattern=ID_PATTERN)
    title: LocalText
    body: LocalText = ""
    when: str | None = Field(
        default=None, min_length=1, description="Show the step only when this condition holds."
    )

    @cached_property
    def condition(self) -> Condition | None:
        return parse_condition(self.when) if self.when else None


class WelcomeStep(_Step):
    type: Literal["welcome"]


class ConsentItem(_Strict):
    key: str = Field(pattern=ID_PATTERN)
    category: LocalText = Field(description="The data category, in plain words.")
    purpose: LocalText
    retention: LocalText = Field(description="How long the data is kept.")
    recipients: LocalText = Field(description="Who receives the data.")
    required: bool = False


class ConsentStep(_Step):
    type: Literal["consent"]
    items: list[ConsentItem] = Field(min_length=1)
    decline_text: LocalText = Field(description="What declining means for the customer.")


class PlatformSelectStep(_Step):
    type: Literal["platform_select"]
    platforms: list[str] = Field(min_length=1, description="Offered platforms, in this order.")


class InstructionsStep(_Step):
    type: Literal["instructions"]
    # Markdown per platform key, replacing the platform's default instructions.
    overrides: dict[str, LocalText] = Field(default_factory=dict)


class ConnectStep(_Step):
    type: Literal["connect"]
    allow_multiple: bool = Field(
        default=False, description="Let the customer connect more than one organisation."
    )


class FieldMessages(_Strict):
    """Error messages for a form field's rules; each has a sensible default."""

    required: LocalText | None = None
    length: LocalText | None = None
    pattern: LocalText | None = None
    range: LocalText | None = None
    invalid: LocalText | None = None


class FieldOption(_Strict):
    value: str = Field(min_length=1, max_length=100)
    label: LocalText


FieldType = Literal["text", "email", "phone", "number", "date", "select", "radio", "checkbox"]


class FormField(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    label: LocalText
    type: FieldType = "text"
    hint: LocalText | None = None
    required: bool = False
    min_length: int | None = Field(default=None, ge=0)
    max_length: int | None = Field(default=None, ge=1, le=10_000)
    pattern: str | None = None
    min: float | None = None
    max: float | None = None
    options: list[FieldOption] = Field(default_factory=list)
    messages: FieldMessages = Field(default_factory=FieldMessages)

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from exc
        return value


class FormStep(_Step):
    type: Literal["form"]
    fields: list[FormField] = Field(min_length=1)


class ReviewStep(_Step):
    type: Literal["review"]


class DoneStep(_Step):
    type: Literal["done"]
    return_url: HttpUrl | None = Field(default=None, description="Back to the business's site.")
    return_label: LocalText | None = None


Step = Annotated[
    WelcomeStep
    | ConsentStep
    | PlatformSelectStep
    | InstructionsStep
    | ConnectStep
    | FormStep
    | ReviewStep
    | DoneStep,
    Field(discriminator="type"),
]
STEP_TYPES = (
    "welcome",
    "consent",
    "platform_select",
    "instructions",
    "connect",
    "form",
    "review",
    "done",
)


class Journey(_Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1)
    locales: list[Annotated[str, Field(pattern=LOCALE_PATTERN)]] = Field(
        default_factory=lambda: ["en"], min_length=1, description="The first is the default."
    )
    business: Business
    integration: Integration = Field(default_factory=Integration)
    consent_policy: ConsentPolicy | None = None
    retention: Retention | None = None
    steps: list[Step] = Field(min_length=2)

    @property
    def default_locale(self) -> str:
        return self.locales[0]

    @property
    def policy(self) -> ConsentPolicy:
        return self.consent_policy or ConsentPolicy()

    @cached_property
    def version(self) -> str:
        content = self.model_dump(mode="json")
        # Sections added later count only when set: older journeys keep their versions.
        for section in ("consent_policy", "retention"):
            if content[section] is None:
                del content[section]
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    def step(self, step_id: str) -> Step | None:
        return next((s for s in self.steps if s.id == step_id), None)

    def first_of(self, step_type: str) -> Step | None:
        return next((s for s in self.steps if s.type == step_type), None)

    def index(self, step_id: str) -> int:
        return next(i for i, s in enumerate(self.steps) if s.id == step_id)

    def text(self, value: str | dict[str, str] | None, locale: str) -> str:
        return localise(value, locale, self.default_locale)


def answer_fields(step: Step) -> set[str]:
    """The names a ``when:`` condition may use after ``step_id.``."""
    if isinstance(step, FormStep):
        return {f.name for f in step.fields}
    if isinstance(step, ConsentStep):
        return {item.key for item in step.items}
    if isinstance(step, PlatformSelectStep):
        return {"platform"}
    if isinstance(step, ConnectStep):
        return {"platform"}
    return set()


Problem = tuple[str, str]


def check_journey(journey: Journey, root: Path | None = None) -> list[Problem]:
    """Every problem with a journey that its fields' shapes alone don't show."""
    problems: list[Problem] = []
    problems += _check_order(journey)
    problems += _check_ids(journey)
    problems += _check_platforms(journey)
    problems += _check_conditions(journey)
    problems += _check_translations(journey)
    problems += [
        (f"business.brand.{where}", what) for where, what in journey.business.brand.problems(root)
    ]
    return problems


def _check_order(journey: Journey) -> list[Problem]:
    problems: list[Problem] = []
    types = [s.type for s in journey.steps]
    last = len(types) - 1
    if types[-1] != "done":
        problems.append((f"steps[{last}].type", "the last step must be of type 'done'"))
    for i, step_type in enumerate(types[:-1]):
        if step_type == "done":
            problems.append((f"steps[{i}].type", "only the last step can be of type 'done'"))
    for needs, before in (("instructions", "platform_select"), ("connect", "platform_select")):
        for i, step_type in enumerate(types):
            if step_type == needs and before not in types[:i]:
                article = "an" if needs[0] in "aeiou" else "a"
                problems.append(
                    (f"steps[{i}]", f"{article} '{needs}' step must come after a '{before}' step")
                )
    choice = journey.first_of("platform_select")
    for i, step in enumerate(journey.steps):
        # Instructions and connecting need the platform chosen: shown without it they
        # would send the customer back to a choice they are never shown.
        if (
            choice is not None
            and step.type in ("instructions", "connect")
            and step.when != choice.when
        ):
            problems.append(
                (
                    f"steps[{i}].when",
                    f"must be the same as the 'platform_select' step's when ({choice.when!r})",
                )
            )
    if "platform_select" in types and "connect" not in types:
        index = types.index("platform_select")
        problems.append(
            (f"steps[{index}]", "a journey that asks for a platform needs a 'connect' step")
        )
    done = journey.steps[-1]
    if done.when:
        problems.append((f"steps[{last}].when", "the 'done' step is always shown: remove 'when'"))
    return problems


def _duplicates(values: list[str]) -> list[tuple[int, str]]:
    seen: set[str] = set()
    found = []
    for i, value in enumerate(values):
        if value in seen:
            found.append((i, value))
        seen.add(value)
    return found


def _check_ids(journey: Journey) -> list[Problem]:
    problems: list[Problem] = []
    for i, step_id in _duplicates([s.id for s in journey.steps]):
        problems.append((f"steps[{i}].id", f"duplicate step id {step_id!r}"))
    for i, step in enumerate(journey.steps):
        if step.id in RESERVED_STEP_IDS:
            problems.append((f"steps[{i}].id", f"{step.id!r} is reserved: choose another id"))
        if isinstance(step, ConsentStep):
            for j, key in _duplicates([item.key for item in step.items]):
                problems.append(
                    (f"steps[{i}].items[{j}].key", f"duplicate consent item key {key!r}")
                )
        if isinstance(step, FormStep):
            for j, name in _duplicates([f.name for f in step.fields]):
                problems.append((f"steps[{i}].fields[{j}].name", f"duplicate field name {name!r}"))
            problems += _check_fields(i, step)
    return problems


def _check_fields(i: int, step: FormStep) -> list[Problem]:
    problems: list[Problem] = []
    for j, f in enumerate(step.fields):
        where = f"steps[{i}].fields[{j}]"
        if f.type in ("select", "radio") and not f.options:
            problems.append((f"{where}.options", f"a {f.type} field needs options"))
        if f.type not in ("select", "radio") and f.options:
            problems.append((f"{where}.options", f"a {f.type} field has no options"))
        if f.min_length is not None and f.max_length is not None and f.min_length > f.max_length:
            problems.append((f"{where}.min_length", "min_length is more than max_length"))
        if f.min is not None and f.max is not None and f.min > f.max:
            problems.append((f"{where}.min", "min is more than max"))
        if (f.min is not None or f.max is not None) and f.type != "number":
            problems.append((f"{where}.min", "min and max apply to number fields only"))
        textual = f.type in ("text", "email", "phone")
        for rule in ("min_length", "max_length", "pattern"):
            if getattr(f, rule) is not None and not textual:
                problems.append(
                    (f"{where}.{rule}", f"{rule} applies to text, email and phone fields only")
                )
        for j2, value in _duplicates([o.value for o in f.options]):
            problems.append((f"{where}.options[{j2}].value", f"duplicate option {value!r}"))
    return problems


def _check_platforms(journey: Journey) -> list[Problem]:
    problems: list[Problem] = []
    offered: set[str] = set()
    for i, step in enumerate(journey.steps):
        if isinstance(step, PlatformSelectStep):
            known = ", ".join(sorted(PLATFORMS))
            for j, key in enumerate(step.platforms):
                if key not in PLATFORMS:
                    problems.append(
                        (f"steps[{i}].platforms[{j}]", f"unknown platform {key!r} (known: {known})")
                    )
            for j, key in _duplicates(step.platforms):
                problems.append((f"steps[{i}].platforms[{j}]", f"platform {key!r} is listed twice"))
            offered |= set(step.platforms)
        if isinstance(step, InstructionsStep):
            for key in step.overrides:
                if key not in offered:
                    problems.append(
                        (
                            f"steps[{i}].overrides.{key}",
                            f"platform {key!r} is not offered before this step",
                        )
                    )
    return problems


def _check_conditions(journey: Journey) -> list[Problem]:
    problems: list[Problem] = []
    fields_before: dict[str, set[str]] = {}
    later = {s.id for s in journey.steps}
    for i, step in enumerate(journey.steps):
        later.discard(step.id)
        if step.when:
            try:
                condition = parse_condition(step.when)
            except ConditionError as exc:
                problems.append((f"steps[{i}].when", f"not a valid condition: {exc}"))
            else:
                problems += _check_references(i, condition, fields_before, later | {step.id})
        fields_before[step.id] = answer_fields(step)
    return problems


def _check_references(
    i: int, condition: Condition, before: dict[str, set[str]], not_yet: set[str]
) -> list[Problem]:
    problems: list[Problem] = []
    if not condition.references:
        value = condition.evaluate({})
        if not value:
            problems.append(
                (f"steps[{i}].when", "the condition is always false: the step is unreachable")
            )
    for reference in sorted(condition.references):
        step_id, _, field = reference.partition(".")
        if step_id in not_yet:
            problems.append(
                (
                    f"steps[{i}].when",
                    f"{reference!r} is answered at or after this step: the step is unreachable",
                )
            )
        elif step_id not in before:
            problems.append((f"steps[{i}].when", f"unknown step {step_id!r} in {reference!r}"))
        elif field not in before[step_id]:
            known = ", ".join(sorted(before[step_id])) or "nothing"
            problems.append(
                (
                    f"steps[{i}].when",
                    f"unknown field {field!r} of step {step_id!r} (it has: {known})",
                )
            )
    return problems


def _check_translations(journey: Journey) -> list[Problem]:
    problems: list[Problem] = []
    wanted = list(journey.locales)
    for where, value in _texts(journey, ""):
        if isinstance(value, str):
            if len(wanted) > 1 and value:
                problems.append(
                    (where, f"missing translations: give this text in {', '.join(wanted)}")
                )
            continue
        missing = [locale for locale in wanted if not value.get(locale)]
        extra = [locale for locale in value if locale not in wanted]
        if missing:
            problems.append((where, f"missing translation for {', '.join(missing)}"))
        if extra:
            problems.append((where, f"{', '.join(extra)} is not one of the journey's locales"))
    return problems


def _texts(model: BaseModel, where: str) -> Iterator[tuple[str, str | dict[str, str]]]:
    """Every customer-facing text in a model, with its path."""
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        path = f"{where}.{name}" if where else name
        if _is_translatable(info.metadata, info.annotation):
            if value is not None:
                yield path, value
        elif isinstance(value, BaseModel):
            yield from _texts(value, path)
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, BaseModel):
                    yield from _texts(item, f"{path}[{i}]")
        elif isinstance(value, dict) and name == "overrides":
            for key, text in value.items():
                yield f"{path}.{key}", text


def _is_translatable(metadata: list[Any], annotation: Any) -> bool:
    """A ``LocalText`` field, or an optional one (``LocalText | None``)."""
    if _Translatable in metadata:
        return True
    if get_origin(annotation) in (Union, UnionType):
        return any(
            _Translatable in getattr(arg, "__metadata__", ()) for arg in get_args(annotation)
        )
    return False


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
    # Imported here: publishing reads the database and itself builds on this module.
    from app.journey.publishing import published_journeys

    return {**file_journeys(), **published_journeys()}


def get_journey(journey_id: str) -> Journey | None:
    """The current version of a journey (published in the console, else its file)."""
    return current_journeys().get(journey_id)


def json_schema() -> dict[str, Any]:
    return Journey.model_json_schema()

"""Checks of a journey as a whole, beyond its fields' shapes: order of steps, ids,
conditions, translations, references, platforms and colours; every problem at once."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import product
from math import prod
from pathlib import Path
from types import UnionType
from typing import Any, Union, get_args, get_origin

from pydantic import (
    BaseModel,
)

from app.engine.conditions import Condition, ConditionError, parse_condition
from app.engine.schema import (
    CDR_MAX_DAYS,
    ONCE,
    OPTIONS_ADDED_LATER,
    RESERVED_STEP_IDS,
    ConnectStep,
    ConsentStep,
    DoneStep,
    FormStep,
    InstructionsStep,
    Journey,
    PlatformSelectStep,
    Problem,
    Step,
    Translatable,
    UploadStep,
    answer_fields,
)
from app.platforms import PLATFORMS


def check_journey(journey: Journey, root: Path | None = None) -> list[Problem]:
    """Every problem with a journey that its fields' shapes alone don't show."""
    problems: list[Problem] = []
    problems += _check_order(journey)
    problems += _check_ids(journey)
    problems += _check_platforms(journey)
    problems += _check_conditions(journey)
    problems += _check_translations(journey)
    problems += _check_durations(journey)
    problems += _check_uploads(journey)
    problems += _check_consent_use(journey)
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
            problems.append(
                (
                    f"steps[{i}].type",
                    "only the last step can be of type 'done': the steps after it are unreachable",
                )
            )
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
            if step.not_listed_text is not None and not step.not_listed:
                problems.append(
                    (
                        f"steps[{i}].not_listed_text",
                        "shown only with not_listed: true (add it, or remove this text)",
                    )
                )
        if isinstance(step, ConnectStep) and not step.delegate:
            for option, unset in OPTIONS_ADDED_LATER["connect"][1:]:
                if getattr(step, option) != unset:
                    problems.append(
                        (
                            f"steps[{i}].{option}",
                            "used only with delegate: true (add it, or remove this option)",
                        )
                    )
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


def _check_uploads(journey: Journey) -> list[Problem]:
    """Upload steps: consent items that cover them asked before, fallback offered somewhere."""
    problems: list[Problem] = []
    asked: set[str] = set()
    fallbacks = 0
    last = len(journey.steps) - 1
    done = journey.steps[-1]
    if not any(isinstance(s, UploadStep) for s in journey.steps) and isinstance(done, DoneStep):
        for option in ("uploaded_title", "uploaded_body"):
            if getattr(done, option) is not None:
                problems.append(
                    (f"steps[{last}].{option}", "shown only after an 'upload' step (add one)")
                )
    for i, step in enumerate(journey.steps):
        if isinstance(step, ConsentStep):
            asked |= {item.key for item in step.items}
        if not isinstance(step, UploadStep):
            continue
        for j, kind in _duplicates(list(step.kinds)):
            problems.append((f"steps[{i}].kinds[{j}]", f"kind {kind!r} is listed twice"))
        for j, key in enumerate(step.covered_by):
            if key not in asked:
                problems.append(
                    (
                        f"steps[{i}].covered_by[{j}]",
                        f"{key!r} is not an item of a consent step before this one",
                    )
                )
        if step.offer_text is not None and not step.fallback:
            problems.append(
                (
                    f"steps[{i}].offer_text",
                    "shown only with fallback: true (add it, or remove this text)",
                )
            )
        if step.fallback:
            fallbacks += 1
            if fallbacks > 1:
                problems.append((f"steps[{i}].fallback", "only one upload step can be a fallback"))
            if journey.first_of("platform_select") is None:
                problems.append(
                    (
                        f"steps[{i}].fallback",
                        "a fallback is offered instead of connecting: the journey needs a "
                        "'platform_select' step",
                    )
                )
            if step.when is not None:
                problems.append(
                    (f"steps[{i}].when", "a fallback upload step is shown when chosen, not by when")
                )
    return problems


# A field's possible answers when there are few of them (None: any text or number).
Domain = frozenset[Any] | None

# Beyond this many combinations of earlier answers a condition is not tried exhaustively.
MAX_COMBINATIONS = 4096


def _domains(step: Step, offered: set[str]) -> dict[str, Domain]:
    """The answers each of a step's fields can take, as its step's conditions see them."""
    if isinstance(step, FormStep):
        domains: dict[str, Domain] = {}
        for f in step.fields:
            if f.type in ("select", "radio"):
                domains[f.name] = frozenset(o.value for o in f.options)
            elif f.type == "checkbox":
                domains[f.name] = frozenset({True, False})
            else:
                domains[f.name] = None
        return domains
    if isinstance(step, ConsentStep):
        return {item.key: frozenset({True, False}) for item in step.items}
    if isinstance(step, PlatformSelectStep):
        return {"platform": frozenset(step.platforms)}
    if isinstance(step, ConnectStep):
        return {"platform": frozenset(offered) if offered else None}
    return {}


def _check_conditions(journey: Journey) -> list[Problem]:
    problems: list[Problem] = []
    fields_before: dict[str, set[str]] = {}
    domains: dict[str, dict[str, Domain]] = {}
    offered: set[str] = set()
    later = {s.id for s in journey.steps}
    for i, step in enumerate(journey.steps):
        later.discard(step.id)
        if isinstance(step, PlatformSelectStep):
            offered |= set(step.platforms)
        if step.when:
            try:
                condition = parse_condition(step.when)
            except ConditionError as exc:
                problems.append((f"steps[{i}].when", f"not a valid condition: {exc}"))
            else:
                found = _check_references(i, condition, fields_before, later | {step.id})
                found = found or _check_values(i, condition, domains)
                found = found or _check_reachable(i, condition, domains)
                problems += found
        fields_before[step.id] = answer_fields(step)
        domains[step.id] = _domains(step, offered)
    return problems


def _check_values(
    i: int, condition: Condition, domains: dict[str, dict[str, Domain]]
) -> list[Problem]:
    """Values compared with a field that can never take them: a step that never shows."""
    problems: list[Problem] = []
    for reference, value in dict.fromkeys(condition.compared_values()):
        step_id, _, name = reference.partition(".")
        domain = domains.get(step_id, {}).get(name)
        if domain is None or value is None or any(_same(v, value) for v in domain):
            continue
        if domain <= {True, False}:
            problems.append(
                (
                    f"steps[{i}].when",
                    f"compares {reference!r} with {value!r}, but it is true (ticked) or false",
                )
            )
            continue
        choices = ", ".join(sorted(repr(v) for v in domain))
        problems.append(
            (
                f"steps[{i}].when",
                f"refers to option {value!r} of field {name!r}, which step {step_id!r} "
                f"does not offer (it offers {choices})",
            )
        )
    return problems


def _same(answer: Any, value: Any) -> bool:
    """Whether a condition's ``==`` holds: as it evaluates, True is not 1."""
    return isinstance(answer, bool) == isinstance(value, bool) and bool(answer == value)


def _check_reachable(
    i: int, condition: Condition, domains: dict[str, dict[str, Domain]]
) -> list[Problem]:
    """A condition false whatever the earlier steps' answers: the step never shows."""
    choices: list[list[Any]] = []
    references = sorted(condition.references)
    for reference in references:
        step_id, _, name = reference.partition(".")
        domain = domains.get(step_id, {}).get(name)
        if domain is None:
            return []  # free text or numbers: too many answers to try
        # None: the step was skipped, or the field left empty.
        choices.append([*sorted(domain, key=repr), None])
    if not references or prod(len(c) for c in choices) > MAX_COMBINATIONS:
        return []
    for values in product(*choices):
        answers: dict[str, dict[str, Any]] = {}
        for reference, value in zip(references, values, strict=True):
            step_id, _, name = reference.partition(".")
            answers.setdefault(step_id, {})[name] = value
        if condition.evaluate(answers):
            return []
    return [
        (
            f"steps[{i}].when",
            "the condition is false whatever the customer answers before: the step is unreachable",
        )
    ]


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


def _check_consent_use(journey: Journey) -> list[Problem]:
    """Consent items that cover nothing: no step after them takes data under them.

    Connecting software and answering a form take data under every item asked before;
    an upload step takes files under the items its ``covered_by`` names (all of them when
    it names none); a condition may read an item. An item none of these use asks the
    customer to agree to something that never happens.
    """
    problems: list[Problem] = []
    read: set[str] = set()
    for step in journey.steps:
        try:
            read |= parse_condition(step.when).references if step.when else set()
        except ConditionError:
            continue  # reported with the conditions
    for i, step in enumerate(journey.steps):
        if not isinstance(step, ConsentStep):
            continue
        after = journey.steps[i + 1 :]
        if any(isinstance(s, ConnectStep | FormStep) for s in after):
            continue
        covered: set[str] = set()
        everything = False
        for s in after:
            if isinstance(s, UploadStep):
                covered |= set(s.covered_by)
                everything = everything or not s.covered_by
        if everything:
            continue
        for j, item in enumerate(step.items):
            if item.key in covered or f"{step.id}.{item.key}" in read:
                continue
            problems.append(
                (
                    f"steps[{i}].items[{j}].key",
                    f"consent item {item.key!r} covers nothing: no 'connect' or 'form' step "
                    "comes after it, no 'upload' step's covered_by names it and no condition "
                    "reads it",
                )
            )
    return problems


def _check_durations(journey: Journey) -> list[Problem]:
    """The customer's choice of how long to share: sensible choices within the policy's
    cap, and the choice Australia's Consumer Data Right (CDR) asks of the customer."""
    policy = journey.consent_policy
    if policy is None:
        return []
    problems: list[Problem] = []
    asks_consent = journey.first_of("consent") is not None
    cdr = "Australia's Consumer Data Right"
    if policy.under_cdr and policy.lifetime_days and policy.lifetime_days > CDR_MAX_DAYS:
        problems.append(
            (
                "consent_policy.lifetime_days",
                f"{cdr} caps ongoing consent at 12 months: at most {CDR_MAX_DAYS} days",
            )
        )
    durations = policy.durations
    if durations is None:
        if policy.under_cdr and asks_consent:
            problems.append(
                (
                    "consent_policy.durations",
                    f"{cdr} has the customer choose how long to share: add durations "
                    "with the choices (for example [once, 90, 365])",
                )
            )
        return problems
    where = "consent_policy.durations"
    if not asks_consent:
        problems.append((where, "the journey has no 'consent' step to ask how long"))
    for j, repeated in _duplicates([str(c) for c in durations.choices]):
        problems.append((f"{where}.choices[{j}]", f"{repeated} is listed twice"))
    longest = policy.longest_days
    for j, choice in enumerate(durations.choices):
        if choice == ONCE or longest is None or int(choice) <= longest:
            continue
        if policy.under_cdr and int(choice) > CDR_MAX_DAYS:
            why = f"{cdr} caps ongoing consent at 12 months ({CDR_MAX_DAYS} days)"
        else:
            why = f"lifetime_days allows at most {policy.lifetime_days} days"
        problems.append((f"{where}.choices[{j}]", f"{choice} days is too long: {why}"))
    if durations.default is not None:
        if str(durations.default) not in {str(c) for c in durations.choices}:
            problems.append((f"{where}.default", "the default must be one of the choices"))
        if policy.under_cdr:
            problems.append(
                (
                    f"{where}.default",
                    f"{cdr} has the customer make the choice: remove the default",
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
    if Translatable in metadata:
        return True
    if get_origin(annotation) in (Union, UnionType):
        return any(Translatable in getattr(arg, "__metadata__", ()) for arg in get_args(annotation))
    return False

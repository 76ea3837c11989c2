"""The journey engine: which step a customer may be on and what finishing one does.

The server, not the browser, decides the step: a run's ``current_step`` is the first
step not yet completed, and no later step can be opened.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, cast

from sqlalchemy import select

from app import clock
from app.engine import events
from app.engine.schema import (
    ConnectStep,
    ConsentStep,
    FormStep,
    Journey,
    PlatformSelectStep,
    Step,
    UploadStep,
)
from app.engine.versions import record_version
from app.extensions import db
from app.models import Connection, Customer, JourneyRun
from app.platforms import Platform, get_platform
from app.webhooks.outbox import emit


@dataclass(frozen=True)
class Position:
    number: int
    total: int


class Progress(Protocol):
    """Where someone is in a journey: a customer's run, or a colleague's preview."""

    @property
    def status(self) -> str: ...

    @property
    def answers(self) -> dict[str, Any]: ...

    @property
    def completed_steps(self) -> list[str]: ...

    @property
    def locale(self) -> str: ...


@dataclass(frozen=True)
class Advance:
    """What finishing a step changes: the answers, the finished steps, where to go next."""

    answers: dict[str, Any]
    completed_steps: list[str]
    following: Step
    current: Step


def start_or_resume(
    customer: Customer, journey: Journey, locale: str | None = None, again: bool = False
) -> JourneyRun:
    """The customer's latest run of this journey, or a new one at its first step.

    With ``again`` a finished run is not resumed: the customer starts a new one.
    """
    run = db.session.scalars(
        select(JourneyRun)
        .where(JourneyRun.customer_id == customer.id, JourneyRun.journey_id == journey.id)
        .order_by(JourneyRun.id.desc())
        .limit(1)
    ).first()
    if run is None or (again and run.status == "completed"):
        record_version(journey)
        run = JourneyRun(
            customer=customer,
            journey_id=journey.id,
            journey_version=journey.version,
            current_step=journey.steps[0].id,
            locale=locale or journey.default_locale,
            completed_steps=[],
            answers={},
        )
        db.session.add(run)
        db.session.flush()
        emit("journey.started", customer, run_id=run.public_id, journey_id=journey.id)
        db.session.commit()
    return run


def _answers_view(step: Step, answers: dict[str, Any]) -> dict[str, Any]:
    """A step's answers as ``when:`` conditions see them."""
    if isinstance(step, ConsentStep):
        granted = set(answers.get("granted", []))
        return {item.key: item.key in granted for item in step.items}
    if isinstance(step, PlatformSelectStep | ConnectStep):
        return {"platform": answers.get("platform")}
    if isinstance(step, FormStep):
        return dict(answers)
    return {}


def applicable_steps(journey: Journey, answers: dict[str, Any]) -> list[Step]:
    """The steps this customer is shown, given their answers so far.

    Conditions only see answers of steps that are themselves shown: an answer
    given on a step that a later change skipped no longer counts.
    """
    view: dict[str, dict[str, Any]] = {}
    shown: list[Step] = []
    uploading = journey.fallback_upload is not None and bool(answers.get(UPLOAD_INSTEAD_KEY))
    for step in journey.steps:
        if step.condition is not None and not step.condition.evaluate(view):
            continue
        # A fallback upload step replaces choosing and connecting software, when chosen.
        if isinstance(step, UploadStep) and step.fallback and not uploading:
            continue
        if uploading and step.type in CONNECTING_TYPES:
            continue
        shown.append(step)
        if step.id in answers:
            view[step.id] = _answers_view(step, answers[step.id])
    return shown


def current_step(run: Progress, journey: Journey) -> Step:
    """The first shown step the customer has not finished (the end, once finished)."""
    if run.status == "completed":
        return journey.steps[-1]
    shown = applicable_steps(journey, run.answers)
    return next((s for s in shown if s.id not in run.completed_steps), shown[-1])


def position(run: Progress, journey: Journey, step: Step) -> Position:
    """Step N of M: M counts the steps shown and those not yet decided.

    A conditional step whose condition reads a question not answered yet is counted,
    so that the total only ever goes down as the customer answers.
    """
    shown = [s.id for s in applicable_steps(journey, run.answers)]
    undecided = [
        s.id
        for s in journey.steps
        if s.id not in shown
        and s.condition is not None
        and any(ref.partition(".")[0] not in run.answers for ref in s.condition.references)
    ]
    counted = [s.id for s in journey.steps if s.id in shown or s.id in undecided]
    number = counted.index(step.id) + 1 if step.id in counted else len(counted)
    return Position(number, len(counted))


def may_visit(run: Progress, journey: Journey, step: Step) -> bool:
    """A customer may revisit finished steps and open the current one, nothing later."""
    if run.status == "completed":
        return step.type == "done"
    shown = [s.id for s in applicable_steps(journey, run.answers)]
    if step.id not in shown:
        return False
    return shown.index(step.id) <= shown.index(current_step(run, journey).id)


def answers_for(run: Progress, step_id: str) -> dict[str, Any]:
    return dict(run.answers.get(step_id, {}))


def chosen_platform(run: Progress, journey: Journey) -> Platform | None:
    """The platform picked on the shown platform choice, if any."""
    for shown in applicable_steps(journey, run.answers):
        if isinstance(shown, PlatformSelectStep):
            return get_platform(answers_for(run, shown.id).get("platform", ""))
    return None


# Steps whose work depends on everything asked before them: a changed answer reopens them.
DEPENDENT_TYPES = {"review", "instructions", "connect"}


def advance(progress: Progress, journey: Journey, step: Step, answers: dict[str, Any]) -> Advance:
    """Finish ``step`` with ``answers``, changing nothing: what the run would become.

    Changing an earlier answer reopens the later steps that depend on it (a review,
    instructions and connecting, and a step it now shows or hides); the customer
    then returns to the first step still to do, not through every step again.
    """
    index = journey.index(step.id)
    revisit = step.id in progress.completed_steps
    previous = progress.answers.get(step.id)
    completed = list(progress.completed_steps)
    if previous is not None and previous != answers:
        shown_before = {s.id for s in applicable_steps(journey, progress.answers)}
        shown_after = {
            s.id for s in applicable_steps(journey, {**progress.answers, step.id: answers})
        }
        reopened = {
            s.id
            for s in journey.steps[index + 1 :]
            if s.type in DEPENDENT_TYPES or (s.id in shown_before) != (s.id in shown_after)
        }
        completed = [s for s in completed if s not in reopened]
    if step.id not in completed:
        completed.append(step.id)
    after = _Progress("active", {**progress.answers, step.id: answers}, completed, "")
    now = current_step(after, journey)
    shown = applicable_steps(journey, after.answers)
    # The next shown step still to do (a deep link may have answered some already).
    following = next(
        (s for s in shown if journey.index(s.id) > index and s.id not in completed), now
    )
    if revisit:
        following = now
    return Advance(after.answers, completed, following, now)


@dataclass(frozen=True)
class _Progress:
    status: str
    answers: dict[str, Any]
    completed_steps: list[str]
    locale: str


def complete_step(run: JourneyRun, journey: Journey, step: Step, answers: dict[str, Any]) -> Step:
    """Record a step's answers and return the step to show next (see :func:`advance`).

    Commits, with whatever the caller's transaction holds (a consent decision's records).
    """
    following = _complete(run, journey, step, answers)
    db.session.commit()
    return following


def _complete(run: JourneyRun, journey: Journey, step: Step, answers: dict[str, Any]) -> Step:
    moved = advance(run, journey, step, answers)
    run.answers = moved.answers
    run.completed_steps = moved.completed_steps
    run.status = "active"
    events.step_completed(run, step.id)
    run.current_step = moved.current.id
    if moved.following.type == "done":
        finish(run, journey)
    return moved.following


RECONNECT_KEY = "_reconnect"  # not a step id: those start with a letter
# The customer chose to upload their accounts instead of connecting software.
UPLOAD_INSTEAD_KEY = "_upload_instead"
# The steps a fallback upload step replaces.
CONNECTING_TYPES = {"platform_select", "instructions", "connect"}


def uploading_instead(run: Progress) -> bool:
    return bool(run.answers.get(UPLOAD_INSTEAD_KEY))


def choose_upload(run: JourneyRun, journey: Journey) -> Step:
    """The customer will upload files instead of connecting: the journey's fallback upload
    step replaces choosing and connecting software. Returns the step to show. Commits."""
    step = journey.fallback_upload
    if step is None or run.status == "completed":
        return current_step(run, journey)
    left = current_step(run, journey)
    if not uploading_instead(run):
        run.answers = {**run.answers, UPLOAD_INSTEAD_KEY: True}
        events.chose_upload(run, left.id)
    run.current_step = current_step(run, journey).id
    db.session.commit()
    return step


def choose_connect(run: JourneyRun, journey: Journey) -> Step:
    """The customer goes back to connecting software instead of uploading. Commits."""
    if run.status != "completed":
        run.answers = {k: v for k, v in run.answers.items() if k != UPLOAD_INSTEAD_KEY}
        run.current_step = current_step(run, journey).id
        db.session.commit()
    return current_step(run, journey)


def files_uploaded(run: JourneyRun, journey: Journey, step: UploadStep, names: list[str]) -> Step:
    """The customer's files are stored (by the caller, in this transaction): noted for the
    timeline and the step finished. Returns the step to show next. Commits."""
    events.uploaded(run, step.id, names)
    return complete_step(run, journey, step, {"files": len(names)})


# Connections this run re-authorized in place, staying with the run whose consent covers them.
REAUTHORIZED_KEY = "_reauthorized"


def note_reauthorized(run: JourneyRun, connection_public_id: str) -> None:
    """Remember that this run re-authorized an existing connection (kept with its own run)."""
    noted = [*reauthorized(run), connection_public_id]
    run.answers = {**run.answers, REAUTHORIZED_KEY: sorted(set(noted))}


def reauthorized(run: JourneyRun) -> list[str]:
    value = run.answers.get(REAUTHORIZED_KEY)
    return [str(v) for v in value] if isinstance(value, list) else []


def expect_reconnect(run: JourneyRun, connection: Connection) -> None:
    """This run re-authorizes ``connection``: only its organisation may come back."""
    run.answers = {
        **run.answers,
        RECONNECT_KEY: {
            "connection": connection.public_id,
            "org_id": connection.org_id,
            "org_name": connection.org_name,
        },
    }


def reconnecting(run: JourneyRun) -> dict[str, Any] | None:
    value = run.answers.get(RECONNECT_KEY)
    return dict(value) if isinstance(value, dict) else None


def preselect_platform(run: JourneyRun, journey: Journey, platform: str) -> bool:
    """Answer the platform choice from a deep link, so the customer skips the picker.

    Only a platform the journey offers, and only while the customer hasn't chosen.
    """
    choice = journey.first_of("platform_select")
    if not isinstance(choice, PlatformSelectStep) or platform not in choice.platforms:
        return False
    if choice.id in run.completed_steps:
        return False
    run.answers = {**run.answers, choice.id: {"platform": platform, "preselected": True}}
    run.completed_steps = [*run.completed_steps, choice.id]
    return True


NOT_LISTED = "not_listed"  # the answer naming software a platform step doesn't list


def software_not_listed(run: JourneyRun, step: PlatformSelectStep, software: str) -> bool:
    """The customer says their software, ``software``, isn't among the step's platforms:
    kept with the step's answers (the step is not finished by it), noted for the funnel
    and told to the business (``journey.software_not_listed``). Naming the same software
    again changes nothing; another name replaces it. Returns whether it changed. Commits."""
    answers = answers_for(run, step.id)
    if answers.get(NOT_LISTED) == software:
        return False
    run.answers = {**run.answers, step.id: {**answers, NOT_LISTED: software}}
    events.said_not_listed(run, step.id, software)
    emit(
        "journey.software_not_listed",
        run.customer_id,
        run_id=run.public_id,
        journey_id=run.journey_id,
        software=software,
    )
    db.session.commit()
    return True


def finish(run: JourneyRun, journey: Journey) -> None:
    done = journey.steps[-1]
    run.current_step = done.id
    if done.id not in run.completed_steps:
        run.completed_steps = [*run.completed_steps, done.id]
    if run.status != "completed":
        emit("journey.completed", run.customer_id, run_id=run.public_id, journey_id=run.journey_id)
    run.status = "completed"
    run.completed_at = clock.now()


def decline(run: JourneyRun, step: Step) -> None:
    """The customer refused consent: the run waits until they change their mind.

    Commits, with whatever the caller's transaction holds (a consent decision's records).
    """
    run.status = "declined"
    events.step_failed(run, step.id, "consent declined")
    db.session.commit()


def reconsider(run: JourneyRun) -> None:
    """The customer who declined goes back to the consent step."""
    run.status = "active"
    db.session.commit()


def change_locale(run: JourneyRun, journey: Journey, locale: str) -> bool:
    """Show the rest of the run in ``locale`` if the journey offers it; True if it does."""
    if locale not in journey.locales:
        return False
    run.locale = locale
    db.session.commit()
    return True


def step_entered(run: JourneyRun, step_id: str) -> None:
    """The customer opened a step's page (noted once however often it is refreshed)."""
    events.step_entered(run, step_id)
    # A refresh changes nothing: no write, and the run stays loaded (a commit expires it).
    if db.session.new or db.session.dirty or db.session.deleted:
        db.session.commit()


def step_failed(run: JourneyRun, step_id: str, reason: str) -> None:
    """The customer's visit to a step failed (answers refused, say): noted for the funnel."""
    events.step_failed(run, step_id, reason)
    db.session.commit()


def connection_finished(
    run: JourneyRun, journey: Journey, linked: Connection | None, reason: str | None
) -> Step:
    """Move the journey on after the provider's redirect and return the step to show.

    Commits, with the connection's outcome that the caller's transaction holds.
    """
    following = _connection_finished(run, journey, linked, reason)
    db.session.commit()
    return following


def _connection_finished(
    run: JourneyRun, journey: Journey, linked: Connection | None, reason: str | None
) -> Step:
    connect_step = cast(ConnectStep | None, journey.first_of("connect"))
    if connect_step is None:
        return current_step(run, journey)
    if linked is None:
        events.step_failed(run, connect_step.id, reason or "connection failed")
        return connect_step
    if run.status == "completed" or connect_step.allow_multiple:
        # With several connections allowed the customer says when they are done.
        return journey.steps[-1] if run.status == "completed" else connect_step
    return _complete(
        run, journey, connect_step, {"connection": linked.public_id, "platform": linked.platform}
    )

"""The journey engine: which step a customer may be on and what finishing one does.

The server, not the browser, decides the step: a run's ``current_step`` is the first
step not yet completed, and no later step can be opened.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.journey import events
from app.journey.definitions import Journey, Step
from app.models import Connection, Customer, JourneyRun, utcnow


@dataclass(frozen=True)
class Position:
    number: int
    total: int


def start_or_resume(customer: Customer, journey: Journey) -> JourneyRun:
    """The customer's latest run of this journey, or a new one at its first step."""
    run = db.session.scalars(
        select(JourneyRun)
        .where(JourneyRun.customer_id == customer.id, JourneyRun.journey_id == journey.id)
        .order_by(JourneyRun.id.desc())
        .limit(1)
    ).first()
    if run is None:
        run = JourneyRun(
            customer=customer,
            journey_id=journey.id,
            journey_version=journey.version,
            current_step=journey.steps[0].id,
            locale=journey.default_locale,
            completed_steps=[],
            answers={},
        )
        db.session.add(run)
        db.session.commit()
    return run


def position(journey: Journey, step: Step) -> Position:
    return Position(journey.index(step.id) + 1, len(journey.steps))


def may_visit(run: JourneyRun, journey: Journey, step: Step) -> bool:
    """A customer may revisit finished steps and open the current one, nothing later."""
    if run.status == "completed":
        return step.type == "done"
    return journey.index(step.id) <= journey.index(run.current_step)


def answers_for(run: JourneyRun, step_id: str) -> dict[str, Any]:
    return dict(run.answers.get(step_id, {}))


def complete_step(run: JourneyRun, journey: Journey, step: Step, answers: dict[str, Any]) -> Step:
    """Record a step's answers and return the step to show next.

    Changing an earlier answer (another platform, say) reopens the steps after it,
    since what they did depended on it.
    """
    index = journey.index(step.id)
    previous = run.answers.get(step.id)
    completed = list(run.completed_steps)
    if previous is not None and previous != answers:
        later = {s.id for s in journey.steps[index + 1 :]}
        completed = [s for s in completed if s not in later]
    if step.id not in completed:
        completed.append(step.id)
    run.answers = {**run.answers, step.id: answers}
    run.completed_steps = completed
    run.current_step = next((s.id for s in journey.steps if s.id not in completed), step.id)
    run.status = "active"
    events.step_completed(run, step.id)
    following = journey.steps[index + 1]
    if following.type == "done":
        finish(run, journey)
    return following


def finish(run: JourneyRun, journey: Journey) -> None:
    done = journey.steps[-1]
    run.current_step = done.id
    if done.id not in run.completed_steps:
        run.completed_steps = [*run.completed_steps, done.id]
    run.status = "completed"
    run.completed_at = utcnow()


def decline(run: JourneyRun, step: Step) -> None:
    """The customer refused consent: the run waits until they change their mind."""
    run.status = "declined"
    events.step_failed(run, step.id, "consent declined")


def reconsider(run: JourneyRun) -> None:
    run.status = "active"


def connection_finished(
    run: JourneyRun, journey: Journey, linked: Connection | None, reason: str | None
) -> Step:
    """Move the journey on after the provider's redirect and return the step to show."""
    connect_step = journey.first_of("connect")
    if connect_step is None:
        return journey.step(run.current_step) or journey.steps[0]
    if linked is None:
        events.step_failed(run, connect_step.id, reason or "connection failed")
        return connect_step
    if run.status == "completed":
        return journey.steps[-1]
    return complete_step(
        run, journey, connect_step, {"connection": linked.public_id, "platform": linked.platform}
    )

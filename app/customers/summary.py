"""The customer at a glance: where each journey stands, each connection and consent, who
the customer is waiting on, and the one thing a colleague could sensibly do next.

Plain words and names throughout (journey names, step titles, platform and organisation
names), never ids: this is what a support colleague reads first on the customer's page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from app import clock
from app.connections import delegation as delegations
from app.connections.authorization import RECONNECT_JOURNEY, can_reconnect, reconnect_journey
from app.connections.health import BREAK_REASONS
from app.consent import ledger
from app.customers.manage import item_state
from app.customers.standing import stuck_after
from app.engine.registry import get_journey
from app.engine.schema import ConsentStep, Journey
from app.engine.versions import journey_for_run
from app.extensions import db
from app.models import Connection, Customer, Delegation, JourneyEvent, JourneyRun
from app.platforms import get_platform

# What a run's state is called on the page (and in the help).
IN_PROGRESS = "in progress"
WAITING = "waiting on someone they asked"
COMPLETED = "completed"
DECLINED = "declined"
ABANDONED = "abandoned"
EXPIRED = "expired"

# The actions a summary may propose; the page gives each its button.
FRESH_LINK = "fresh_link"
RECONNECT = "reconnect"

CONNECTION_WORDS = {
    "pending": "not finished: the customer started connecting and did not come back",
    "linked": "connected",
    "failed": "failed",
    "deauthorized": "broken",
    "disconnected": "disconnected",
}
ROLE_WORDS = {"accountant": "their accountant", "bookkeeper": "their bookkeeper"}


def ago(delta: timedelta) -> str:
    """A past moment in words: "just now", "5 minutes ago", "3 hours ago", "2 days ago"."""
    seconds = int(delta.total_seconds())
    if seconds < 60:
        return "just now"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''} ago"
    return "just now"  # pragma: no cover - the loop always returns


def journey_name(run: JourneyRun, journey: Journey | None = None) -> str:
    journey = journey or journey_for_run(run)
    return journey.name if journey is not None else run.journey_id


def step_title(run: JourneyRun, step_id: str, journey: Journey | None = None) -> str:
    """A step's title as the customer read it (in the journey's first language)."""
    journey = journey or journey_for_run(run)
    step = journey.step(step_id) if journey is not None else None
    if journey is None or step is None:
        return step_id
    return journey.text(step.title, journey.default_locale)


def platform_name(key: str) -> str:
    platform = get_platform(key)
    return platform.name if platform is not None else key


def person_asked(delegation: Delegation) -> str:
    """ "Jane Smith, their accountant", or as much of it as is known."""
    who = delegations.name_of(delegation)
    role = ROLE_WORDS.get(delegation.role, "someone they asked")
    return f"{who}, {role}" if who else role


def item_words(journey: Journey | None, key: str) -> str:
    """A consent item in plain words: the data category the customer read."""
    if journey is not None:
        for step in journey.steps:
            for item in step.items if isinstance(step, ConsentStep) else []:
                if item.key == key:
                    return journey.text(item.category, journey.default_locale)
    return key


@dataclass(frozen=True)
class RunFacts:
    public_id: str
    journey: str
    started_at: datetime
    state: str
    # Where they are, in words: "stopped at 'Connect your software' 3 days ago".
    where: str


@dataclass(frozen=True)
class ConnectionFacts:
    public_id: str
    platform: str
    organisation: str | None
    status: str
    # The status in words, with the reason for a break or a failure.
    words: str


@dataclass(frozen=True)
class ConsentFacts:
    what: str
    journey: str
    state: str
    at: datetime


@dataclass(frozen=True)
class NextAction:
    sentence: str
    # FRESH_LINK, RECONNECT or None (nothing to press).
    action: str | None = None
    # The journey a fresh link opens; the connection a reconnect link repairs.
    journey_id: str | None = None
    connection_id: str | None = None
    label: str | None = None


@dataclass(frozen=True)
class Summary:
    runs: list[RunFacts] = field(default_factory=list)
    connections: list[ConnectionFacts] = field(default_factory=list)
    consents: list[ConsentFacts] = field(default_factory=list)
    waiting_on: str = "nobody"
    next_action: NextAction = field(default_factory=lambda: NextAction("Nothing to do."))


def _consents_expired(run: JourneyRun, now: datetime) -> bool:
    """Whether everything the customer agreed to share in ``run`` has run out."""
    latest = ledger.latest_decisions(run).values()
    states = [item_state(record, now) for record in latest]
    return ledger.EXPIRED in states and not any(s in ledger.ACTIVE for s in states)


def run_state(run: JourneyRun, asked: Delegation | None, now: datetime) -> str:
    """One of the states above."""
    if run.status == "completed":
        return EXPIRED if _consents_expired(run, now) else COMPLETED
    if run.status == "declined":
        return DECLINED
    if asked is not None:
        return WAITING
    if run.abandoned_at is not None:
        return ABANDONED
    return IN_PROGRESS


def _where(run: JourneyRun, state: str, asked: Delegation | None, now: datetime) -> str:
    step = step_title(run, run.current_step)
    if state in (COMPLETED, EXPIRED) and run.completed_at is not None:
        finished = f"finished {ago(now - run.completed_at)}"
        return finished + (": what they agreed to share has expired" if state == EXPIRED else "")
    if state == DECLINED:
        return f"declined at “{step}” {ago(now - run.updated_at)}"
    if state == WAITING and asked is not None:
        return f"at “{step}”, waiting for {person_asked(asked)} to connect"
    return f"stopped at “{step}” {ago(now - run.updated_at)}"


def _connection_words(connection: Connection) -> str:
    words = CONNECTION_WORDS.get(connection.status, connection.status)
    if connection.status == "deauthorized":
        why = BREAK_REASONS.get(connection.last_error or "")
        return f"broken: {why}" if why else "broken: the platform no longer lets it in"
    if connection.status == "failed" and connection.last_error:
        detail = connection.last_error_detail or connection.last_error
        return f"failed: {detail}"
    return words


def _uploaded(run_ids: list[int]) -> bool:
    if not run_ids:
        return False
    found = db.session.scalars(
        select(JourneyEvent.id)
        .where(JourneyEvent.run_id.in_(run_ids), JourneyEvent.kind == "uploaded")
        .limit(1)
    ).first()
    return found is not None


def _fresh_link(customer_runs: list[JourneyRun], sentence: str) -> NextAction:
    usual = next((r.journey_id for r in customer_runs if r.journey_id != RECONNECT_JOURNEY), None)
    # A journey no longer offered cannot be linked to: the colleague picks one instead.
    offered = usual if usual is not None and get_journey(usual) is not None else None
    return NextAction(sentence, FRESH_LINK, journey_id=offered, label="Send a new link")


def _next_action(
    runs: list[JourneyRun],
    states: dict[int, str],
    connections: list[Connection],
    asked: list[Delegation],
    uploaded: bool,
    now: datetime,
) -> NextAction:
    broken = [c for c in connections if c.status == "deauthorized"]
    if broken and can_reconnect(broken[0]) and reconnect_journey(broken[0]):
        name = platform_name(broken[0].platform)
        return NextAction(
            f"Send a reconnect link for {name}: the connection broke and only the customer "
            "can approve access again.",
            RECONNECT,
            connection_id=broken[0].public_id,
            label=f"Send a reconnect link for {name}",
        )
    if asked:
        return NextAction(
            f"Nothing to do yet: {person_asked(asked[0])} has a link that works until "
            f"{asked[0].expires_at:%Y-%m-%d %H:%M} UTC."
        )
    if not runs:
        return _fresh_link(runs, "Send a fresh link: they have not started a journey yet.")
    latest = runs[0]
    state = states[latest.id]
    if state in (IN_PROGRESS, ABANDONED):
        idle = now - latest.updated_at
        if state == ABANDONED or idle > stuck_after():
            return _fresh_link(
                runs, f"Send a fresh link: they have not moved for {ago(idle)[: -len(' ago')]}."
            )
        return NextAction("Nothing to do yet: they are in the middle of their journey.")
    if state == DECLINED:
        return _fresh_link(
            runs, "Send a fresh link if they want to reconsider: they declined what was asked."
        )
    if state == EXPIRED:
        return _fresh_link(runs, "Send a fresh link: what they agreed to share has expired.")
    if uploaded and not any(c.status == "linked" for c in connections):
        return NextAction(
            "Review the files they uploaded: they sent accounts instead of connecting."
        )
    return NextAction("Nothing to do: everything is connected.")


def _waiting_on(
    states: dict[int, str],
    runs: list[JourneyRun],
    connections: list[Connection],
    asked: list[Delegation],
    uploaded: bool,
) -> str:
    if asked:
        return f"the person they asked ({person_asked(asked[0])})"
    if any(c.status == "deauthorized" for c in connections):
        return "the business: a connection to repair"
    if runs and states[runs[0].id] in (IN_PROGRESS, ABANDONED):
        return "the customer"
    if uploaded and not any(c.status == "linked" for c in connections):
        return "the business: uploaded files to review"
    return "nobody"


def summary(customer: Customer, now: datetime | None = None) -> Summary:
    """Everything the top of the customer's page says about ``customer``."""
    now = now or clock.now()
    runs = list(
        db.session.scalars(
            select(JourneyRun)
            .where(JourneyRun.customer_id == customer.id)
            .order_by(JourneyRun.id.desc())
        )
    )
    asked = [d for d in delegations.for_customer(customer) if delegations.is_open(d)]
    asked_by_run = {d.run_id: d for d in asked}
    connections = list(
        db.session.scalars(
            select(Connection)
            .where(Connection.customer_id == customer.id)
            .order_by(Connection.id.desc())
        )
    )
    states = {run.id: run_state(run, asked_by_run.get(run.id), now) for run in runs}
    journeys = {run.id: journey_for_run(run) for run in runs}
    names = {run.id: journey_name(run, journeys[run.id]) for run in runs}
    consents = [
        ConsentFacts(
            item_words(journeys[run.id], record.item_key),
            names[run.id],
            item_state(record, now),
            record.recorded_at,
        )
        for run in runs
        for record in ledger.latest_decisions(run).values()
    ]
    uploaded = _uploaded([run.id for run in runs])
    return Summary(
        runs=[
            RunFacts(
                run.public_id,
                names[run.id],
                run.created_at,
                states[run.id],
                _where(run, states[run.id], asked_by_run.get(run.id), now),
            )
            for run in runs
        ],
        connections=[
            ConnectionFacts(
                c.public_id,
                platform_name(c.platform),
                c.org_name,
                c.status,
                _connection_words(c),
            )
            for c in connections
        ],
        consents=consents,
        waiting_on=_waiting_on(states, runs, connections, asked, uploaded),
        next_action=_next_action(runs, states, connections, asked, uploaded, now),
    )

"""The journey funnel: how many runs reached and completed each step, and where they stopped.

The runs counted are those that *started* in the chosen period (a cohort), whatever
the date of their later events, so that each step's figures describe the same runs.
Conversion is measured as the hosted link widgets measure theirs: of the sessions
opened (runs started: the customer opened the link), the share that completed the
journey, and the share that linked a connection (see ``by_version``).
Counting is done by the database (grouped and distinct counts); the median time per
step is read with one ``ORDER BY ... LIMIT/OFFSET`` per step, so memory stays flat
however many runs there are. Works on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import ColumnElement, Select, case, distinct, func, select
from sqlalchemy.orm import aliased

from app import clock
from app.engine.registry import current_journeys, get_journey
from app.engine.schema import Journey, PlatformSelectStep, UploadStep
from app.engine.versions import kept_journey
from app.extensions import db
from app.models import Connection, JourneyEvent, JourneyRun, JourneyVersion
from app.platforms import get_platform

DEFAULT_DAYS = 30
# A query of the ids of the runs counted.
RunIds = Select[int]
# How many reasons each drop-off list shows, the most frequent first.
TOP_REASONS = 20
CONNECTION_STATUSES = ("linked", "failed", "pending", "deauthorized", "disconnected")


@dataclass(frozen=True)
class Period:
    """From the start of ``first`` to the end of ``last`` (both UTC days, inclusive)."""

    first: date
    last: date

    @classmethod
    def last_days(cls, days: int = DEFAULT_DAYS, today: date | None = None) -> Period:
        today = today or clock.now().date()
        return cls(today - timedelta(days=days - 1), today)

    @property
    def starts(self) -> datetime:
        return datetime.combine(self.first, time.min, tzinfo=UTC)

    @property
    def ends(self) -> datetime:
        """The first instant after the period."""
        return datetime.combine(self.last + timedelta(days=1), time.min, tzinfo=UTC)


def rate(part: int, whole: int) -> float | None:
    """``part`` of ``whole``; None when there is no whole to take a share of."""
    return part / whole if whole else None


@dataclass(frozen=True)
class StepFigures:
    step_id: str
    title: str
    reached: int
    completed: int
    # Of the runs that reached the step before, the share that reached this one.
    conversion: float | None
    median_ms: int | None
    # Runs for which this was the furthest step reached, neither completed nor declined.
    stopped: int
    # ``stopped`` as a share of the runs opened.
    stopped_share: float | None


@dataclass(frozen=True)
class PlatformFigures:
    platform: str | None  # None: the run stopped before choosing
    name: str
    chosen: int
    completed: int
    stopped: int
    # Connection attempts of these runs by status (linked, failed, pending, ...).
    connections: dict[str, int]


@dataclass(frozen=True)
class ConnectionFailure:
    platform: str
    name: str
    reason: str
    attempts: int


@dataclass(frozen=True)
class StepFailure:
    step_id: str
    detail: str
    events: int
    runs: int


@dataclass(frozen=True)
class NotListed:
    """Software customers said the platform step doesn't list: how a business learns
    which platform to add."""

    name: str  # as a customer wrote it (names differing only in case count as one)
    runs: int


@dataclass(frozen=True)
class Funnel:
    journey_id: str
    version: str | None  # None: every version
    period: Period
    runs: int
    completed: int
    steps: list[StepFigures]
    platforms: list[PlatformFigures] = field(default_factory=list)
    connection_errors: list[ConnectionFailure] = field(default_factory=list)
    step_failures: list[StepFailure] = field(default_factory=list)
    not_listed: list[NotListed] = field(default_factory=list)

    @property
    def reached_max(self) -> int:
        return max((s.reached for s in self.steps), default=0)

    @property
    def completion_rate(self) -> float | None:
        return rate(self.completed, self.runs)


@dataclass(frozen=True)
class VersionFigures:
    """The conversion of one journey version's runs started in the period."""

    version: str
    # When the version was kept: published in the console, or first used (file journeys).
    created_at: datetime | None
    current: bool
    opened: int
    completed: int
    connected: int  # runs that linked at least one connection (whatever became of it)
    declined: int  # runs waiting, declined, at a consent step

    @property
    def completion_rate(self) -> float | None:
        return rate(self.completed, self.opened)

    @property
    def connection_rate(self) -> float | None:
        return rate(self.connected, self.opened)


@dataclass(frozen=True)
class VersionChoice:
    version: str
    created_at: datetime | None
    current: bool


def journey_ids() -> list[str]:
    """Journeys with a definition now, or with versions kept from earlier runs."""
    kept = db.session.scalars(select(JourneyVersion.journey_id).distinct()).all()
    return sorted(set(current_journeys()) | set(kept))


def versions_of(journey_id: str) -> list[VersionChoice]:
    """A journey's versions, the current one first, then the kept ones newest first."""
    current = get_journey(journey_id)
    choices: list[VersionChoice] = []
    if current is not None:
        kept_at = db.session.scalar(
            select(JourneyVersion.created_at).where(JourneyVersion.version == current.version)
        )
        choices.append(VersionChoice(current.version, kept_at, True))
    rows = db.session.execute(
        select(JourneyVersion.version, JourneyVersion.created_at)
        .where(JourneyVersion.journey_id == journey_id)
        .order_by(JourneyVersion.created_at.desc())
    ).all()
    choices += [
        VersionChoice(version, created_at, False)
        for version, created_at in rows
        if current is None or version != current.version
    ]
    return choices


def _definitions(journey_id: str, version: str | None) -> list[Journey]:
    """The definitions whose steps are counted: one version, or all, the current first."""
    if version is not None:
        found = kept_journey(journey_id, version)
        return [found] if found is not None else []
    found_all = [kept_journey(journey_id, v.version) for v in versions_of(journey_id)]
    return [j for j in found_all if j is not None]


def step_order(definitions: list[Journey]) -> list[tuple[str, str]]:
    """(step id, title) in journey order, merging the steps of several versions.

    A step only an older version has is placed after the step it followed there. A
    fallback upload step is off the path most customers take: it comes last (and
    :func:`_steps` leaves it out until a customer reaches it).
    """
    order: list[tuple[str, str]] = []
    aside: list[tuple[str, str]] = []
    for journey in definitions:
        previous: str | None = None
        for step in journey.steps:
            if isinstance(step, UploadStep) and step.fallback:
                if step.id not in dict(aside):
                    aside.append((step.id, journey.text(step.title, journey.default_locale)))
                continue
            ids = [step_id for step_id, _ in order]
            if step.id not in ids:
                at = ids.index(previous) + 1 if previous is not None else 0
                order.insert(at, (step.id, journey.text(step.title, journey.default_locale)))
            previous = step.id
    return order + [entry for entry in aside if entry[0] not in dict(order)]


def _fallbacks(definitions: list[Journey]) -> set[str]:
    return {
        s.id
        for journey in definitions
        for s in journey.steps
        if isinstance(s, UploadStep) and s.fallback
    }


def cohort(journey_id: str, version: str | None, period: Period) -> RunIds:
    """The runs of the journey (one version, or all) started in the period: what the
    funnel and the feedback beside it count over."""
    query = select(JourneyRun.id).where(
        JourneyRun.journey_id == journey_id,
        JourneyRun.created_at >= period.starts,
        JourneyRun.created_at < period.ends,
    )
    if version is not None:
        query = query.where(JourneyRun.journey_version == version)
    return query


def _median_ms(runs: RunIds, step_id: str) -> int | None:
    durations = (
        select(JourneyEvent.duration_ms)
        .where(
            JourneyEvent.run_id.in_(runs),
            JourneyEvent.step == step_id,
            JourneyEvent.kind == "completed",
            JourneyEvent.duration_ms.is_not(None),
        )
        .order_by(JourneyEvent.duration_ms)
    )
    count = db.session.scalar(select(func.count()).select_from(durations.subquery())) or 0
    if count == 0:
        return None
    middle = db.session.scalars(durations.offset((count - 1) // 2).limit(2 - count % 2)).all()
    values = [int(v) for v in middle if v is not None]
    return round(sum(values) / len(values))


def _carried_on(runs: RunIds, previous: str, step_id: str) -> int:
    """How many runs reached ``step_id`` among those that reached ``previous``."""
    earlier = aliased(JourneyEvent)
    reached_previous = (
        select(earlier.id)
        .where(earlier.run_id == JourneyEvent.run_id, earlier.step == previous)
        .exists()
    )
    count = db.session.scalar(
        select(func.count(distinct(JourneyEvent.run_id))).where(
            JourneyEvent.run_id.in_(runs), JourneyEvent.step == step_id, reached_previous
        )
    )
    return count or 0


def _stopped(runs: RunIds, order: list[tuple[str, str]]) -> dict[str, int]:
    """Per step, the runs still under way (not completed, not declined) that got no further.

    A run's furthest step is the one latest in journey ``order`` among those it reached,
    so a customer who went back a step still counts where they had got to.
    """
    if not order:
        return {}
    position = case(
        {step_id: i for i, (step_id, _) in enumerate(order)}, value=JourneyEvent.step, else_=-1
    )
    furthest = (
        select(func.max(position).label("position"))
        .join(JourneyRun, JourneyRun.id == JourneyEvent.run_id)
        .where(
            JourneyEvent.run_id.in_(runs),
            JourneyRun.status.not_in(("completed", "declined")),
        )
        .group_by(JourneyEvent.run_id)
        .subquery()
    )
    rows = db.session.execute(
        select(furthest.c.position, func.count()).group_by(furthest.c.position)
    ).all()
    return {order[i][0]: count for i, count in rows if 0 <= i < len(order)}


def _steps(
    runs: RunIds, order: list[tuple[str, str]], opened: int, aside: set[str] | None = None
) -> list[StepFigures]:
    counts = {
        step: (reached, completed)
        for step, reached, completed in db.session.execute(
            select(
                JourneyEvent.step,
                func.count(distinct(JourneyEvent.run_id)),
                func.count(distinct(case((JourneyEvent.kind == "completed", JourneyEvent.run_id)))),
            )
            .where(JourneyEvent.run_id.in_(runs))
            .group_by(JourneyEvent.step)
        ).all()
    }
    # Events of steps no version names any more still count, at the end.
    order = order + [(step, step) for step in sorted(counts) if step not in dict(order)]
    # Steps aside from the usual path (a fallback upload) only once someone reached them.
    order = [
        (step, title) for step, title in order if step not in (aside or set()) or step in counts
    ]
    stopped = _stopped(runs, order)
    figures: list[StepFigures] = []
    previous: StepFigures | None = None
    for step_id, title in order:
        reached, completed = counts.get(step_id, (0, 0))
        conversion = None
        if previous is not None and previous.reached:
            conversion = _carried_on(runs, previous.step_id, step_id) / previous.reached
        previous = StepFigures(
            step_id,
            title,
            reached,
            completed,
            conversion,
            _median_ms(runs, step_id),
            stopped.get(step_id, 0),
            rate(stopped.get(step_id, 0), opened),
        )
        figures.append(previous)
    return figures


def _platform_name(key: str | None) -> str:
    if key is None:
        return "Not chosen"
    platform = get_platform(key)
    return platform.name if platform is not None else key


def _chosen_platform(definitions: list[Journey]) -> ColumnElement[str | None]:
    """The platform a run chose: its answer to a platform step, else its latest attempt's."""
    latest = aliased(Connection)
    attempted = (
        select(latest.platform)
        .where(latest.run_id == JourneyRun.id)
        .order_by(latest.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    step_ids = sorted(
        {s.id for j in definitions for s in j.steps if isinstance(s, PlatformSelectStep)}
    )
    answers = [JourneyRun.answers[step_id]["platform"].as_string() for step_id in step_ids]
    return func.coalesce(*answers, attempted)


def _platforms(runs: RunIds, definitions: list[Journey]) -> list[PlatformFigures]:
    # Grouped through a subquery: PostgreSQL would not match a GROUP BY expression that
    # repeats the bound parameters (the JSON keys) of the SELECT list.
    chosen_by = (
        select(
            JourneyRun.id,
            JourneyRun.status,
            _chosen_platform(definitions).label("platform"),
        )
        .where(JourneyRun.id.in_(runs))
        .subquery()
    )
    finished = chosen_by.c.status == "completed"
    rows = db.session.execute(
        select(
            chosen_by.c.platform,
            func.count(),
            func.count(case((finished, chosen_by.c.id))),
        ).group_by(chosen_by.c.platform)
    ).all()
    attempts: dict[str, dict[str, int]] = {}
    for key, status, count in db.session.execute(
        select(Connection.platform, Connection.status, func.count())
        .where(Connection.run_id.in_(runs))
        .group_by(Connection.platform, Connection.status)
    ).all():
        attempts.setdefault(key, {})[status] = count
    figures = [
        PlatformFigures(
            key,
            _platform_name(key),
            chosen,
            completed,
            chosen - completed,
            attempts.pop(key, {}) if key is not None else {},
        )
        for key, chosen, completed in rows
    ]
    # Attempts on a platform no run ended up choosing (it chose another one since).
    figures += [
        PlatformFigures(key, _platform_name(key), 0, 0, 0, statuses)
        for key, statuses in attempts.items()
    ]
    return sorted(figures, key=lambda f: (f.platform is None, -f.stopped, -f.chosen, f.name))


def _connection_errors(runs: RunIds) -> list[ConnectionFailure]:
    rows = db.session.execute(
        select(Connection.platform, Connection.last_error, func.count())
        .where(Connection.run_id.in_(runs), Connection.status == "failed")
        .group_by(Connection.platform, Connection.last_error)
        .order_by(func.count().desc(), Connection.platform, Connection.last_error)
        .limit(TOP_REASONS)
    ).all()
    return [ConnectionFailure(p, _platform_name(p), r or "unknown", n) for p, r, n in rows]


def _step_failures(runs: RunIds) -> list[StepFailure]:
    rows = db.session.execute(
        select(
            JourneyEvent.step,
            JourneyEvent.detail,
            func.count(),
            func.count(distinct(JourneyEvent.run_id)),
        )
        .where(JourneyEvent.run_id.in_(runs), JourneyEvent.kind == "failed")
        .group_by(JourneyEvent.step, JourneyEvent.detail)
        .order_by(func.count().desc(), JourneyEvent.step, JourneyEvent.detail)
        .limit(TOP_REASONS)
    ).all()
    return [StepFailure(step, detail or "", events, n) for step, detail, events, n in rows]


def _not_listed(runs: RunIds) -> list[NotListed]:
    """The software named as not listed, by how many runs named it, most first."""
    name = func.lower(JourneyEvent.detail)
    rows = db.session.execute(
        select(func.min(JourneyEvent.detail), func.count(distinct(JourneyEvent.run_id)))
        .where(JourneyEvent.run_id.in_(runs), JourneyEvent.kind == "not_listed")
        .group_by(name)
        .order_by(func.count(distinct(JourneyEvent.run_id)).desc(), name)
        .limit(TOP_REASONS)
    ).all()
    return [NotListed(software or "", count) for software, count in rows]


def funnel(journey_id: str, version: str | None, period: Period) -> Funnel:
    """The funnel of the runs of ``journey_id`` (one ``version`` or all) started in ``period``."""
    definitions = _definitions(journey_id, version)
    runs = cohort(journey_id, version, period)
    total, completed = db.session.execute(
        select(func.count(), func.count(case((JourneyRun.status == "completed", JourneyRun.id))))
        .select_from(JourneyRun)
        .where(JourneyRun.id.in_(runs))
    ).one()
    return Funnel(
        journey_id=journey_id,
        version=version,
        period=period,
        runs=total,
        completed=completed,
        steps=_steps(runs, step_order(definitions), total, _fallbacks(definitions)),
        platforms=_platforms(runs, definitions),
        connection_errors=_connection_errors(runs),
        step_failures=_step_failures(runs),
        not_listed=_not_listed(runs),
    )


def by_version(journey_id: str, period: Period) -> list[VersionFigures]:
    """Each version of ``journey_id`` that had runs started in ``period``: the current
    version first, then the others newest first."""
    linked = (
        select(Connection.id)
        .where(Connection.run_id == JourneyRun.id, Connection.linked_at.is_not(None))
        .exists()
    )
    # Grouped through a subquery, as in ``_platforms``: the EXISTS stays out of GROUP BY.
    runs = (
        select(
            JourneyRun.id,
            JourneyRun.journey_version.label("version"),
            JourneyRun.status,
            case((linked, 1), else_=0).label("connected"),
        )
        .where(JourneyRun.id.in_(cohort(journey_id, None, period)))
        .subquery()
    )
    rows = db.session.execute(
        select(
            runs.c.version,
            JourneyVersion.created_at,
            func.count(),
            func.count(case((runs.c.status == "completed", runs.c.id))),
            func.coalesce(func.sum(runs.c.connected), 0),
            func.count(case((runs.c.status == "declined", runs.c.id))),
        )
        .outerjoin(JourneyVersion, JourneyVersion.version == runs.c.version)
        .group_by(runs.c.version, JourneyVersion.created_at)
    ).all()
    current = get_journey(journey_id)
    figures = [
        VersionFigures(
            version,
            created_at,
            current is not None and version == current.version,
            opened,
            completed,
            int(connected),
            declined,
        )
        for version, created_at, opened, completed, connected, declined in rows
    ]
    # The current version first, then the others newest first (one never kept last).
    oldest = datetime.min.replace(tzinfo=UTC)
    return sorted(
        figures, key=lambda f: (not f.current, -(f.created_at or oldest).timestamp(), f.version)
    )

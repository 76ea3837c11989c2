"""The figures of the admin console's health panel: is Onramp working right now?

Reachability reuses the checks of ``/readyz``; the counts come from the database
(the outbox events the Prometheus counters are made from), except failed sign-ins,
which only the metrics know.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import func, or_, select

from app import clock
from app.extensions import db
from app.metrics import registry
from app.models import OutboxEvent, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from app.ops.health import database_problem, redis_problem

HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Reachability:
    name: str
    configured: bool
    # The kind of error met (an exception class name), None when reachable.
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return not self.configured or self.problem is None


@dataclass(frozen=True)
class Counts:
    pending_deliveries: int
    oldest_pending: timedelta | None
    failed_attempts_last_hour: int
    disabled_endpoints: int
    connection_failures_last_hour: int
    journeys_started_today: int
    journeys_completed_today: int


@dataclass(frozen=True)
class Health:
    checked_at: datetime
    database: Reachability
    redis: Reachability
    # None when the database cannot be read.
    counts: Counts | None
    # Since the server started (every worker's, under gunicorn).
    failed_sign_ins: int

    @property
    def ok(self) -> bool:
        return self.database.ok and self.redis.ok


def _events_since(event_type: str, since: datetime) -> int:
    return (
        db.session.scalar(
            select(func.count())
            .select_from(OutboxEvent)
            .where(OutboxEvent.type == event_type, OutboxEvent.occurred_at >= since)
        )
        or 0
    )


def counts(now: datetime) -> Counts:
    """Webhook backlog, recent failures and today's journeys (UTC day), from the database."""
    hour_ago = now - HOUR
    midnight = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    pending, oldest = db.session.execute(
        select(func.count(), func.min(WebhookDelivery.created_at)).where(
            WebhookDelivery.status == "pending"
        )
    ).one()
    if isinstance(oldest, datetime) and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)  # min() over a column loses its type on SQLite
    failed_attempts = db.session.scalar(
        select(func.count())
        .select_from(WebhookAttempt)
        .where(
            WebhookAttempt.attempted_at >= hour_ago,
            or_(
                WebhookAttempt.status_code.is_(None),
                WebhookAttempt.status_code < 200,
                WebhookAttempt.status_code >= 300,
            ),
        )
    )
    disabled = db.session.scalar(
        select(func.count())
        .select_from(WebhookEndpoint)
        .where(WebhookEndpoint.status == "disabled")
    )
    return Counts(
        pending_deliveries=pending,
        oldest_pending=max(now - oldest, timedelta(0)) if oldest is not None else None,
        failed_attempts_last_hour=failed_attempts or 0,
        disabled_endpoints=disabled or 0,
        connection_failures_last_hour=_events_since("connection.failed", hour_ago),
        journeys_started_today=_events_since("journey.started", midnight),
        journeys_completed_today=_events_since("journey.completed", midnight),
    )


def failed_sign_ins() -> int:
    value = registry().get_sample_value("onramp_admin_login_failures_total")
    return int(value or 0)


def health(now: datetime | None = None) -> Health:
    """Everything the health panel shows, read now."""
    now = now or clock.now()
    database = Reachability("Database", True, database_problem())
    redis = Reachability("Redis", bool(current_app.config.get("REDIS_URL")), redis_problem())
    return Health(
        checked_at=now,
        database=database,
        redis=redis,
        counts=counts(now) if database.problem is None else None,
        failed_sign_ins=failed_sign_ins(),
    )

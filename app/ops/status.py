"""The figures of the admin console's health panel: is Onramp working right now?

Reachability reuses the checks of ``/readyz``; the counts come from the database
(the outbox events the Prometheus counters are made from), except failed sign-ins,
which only the metrics know.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from app import clock
from app.customers import standing
from app.extensions import db
from app.metrics import registry
from app.models import WebhookDelivery
from app.ops.probes import database_problem, redis_problem
from app.queries import count_rows
from app.webhooks import listing

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
    # Deliveries with at least one failed attempt in the last hour.
    failed_deliveries_last_hour: int
    disabled_endpoints: int
    # Customers with a failed connection attempt in the last hour.
    connection_failures_last_hour: int


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


def counts(now: datetime) -> Counts:
    """Webhook backlog and recent failures, from the database: each figure is the number
    of rows of the console list it links to (the same query)."""
    hour_ago = now - HOUR
    pending = listing.deliveries(status="pending")
    oldest = db.session.scalar(
        select(func.min(WebhookDelivery.created_at)).where(WebhookDelivery.status == "pending")
    )
    if isinstance(oldest, datetime) and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)  # min() over a column loses its type on SQLite
    return Counts(
        pending_deliveries=count_rows(pending),
        oldest_pending=max(now - oldest, timedelta(0)) if oldest is not None else None,
        failed_deliveries_last_hour=count_rows(listing.deliveries(failed_since=hour_ago)),
        disabled_endpoints=count_rows(listing.endpoints("disabled")),
        connection_failures_last_hour=standing.count("failed-last-hour", now),
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

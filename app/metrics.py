"""Prometheus counters: the signals that show an outage or an attack while it happens.

Counters live in this process; under gunicorn, ``PROMETHEUS_MULTIPROC_DIR`` makes every
worker write to shared files and ``/metrics`` (app/ops/scrape.py) add them up (see
gunicorn_conf.py). Outbox events are counted when their transaction commits, never when
rolled back.
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import REGISTRY as DEFAULT_REGISTRY
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    multiprocess,
)
from sqlalchemy import event
from sqlalchemy.orm import Session

JOURNEY_STEPS = Counter(
    "onramp_journey_steps_total",
    "Customers entering, completing or failing a journey step.",
    ["journey", "step", "kind"],
)
JOURNEYS = Counter(
    "onramp_journeys_total",
    "Journey runs started, completed and abandoned.",
    ["journey", "outcome"],
)
CONNECTIONS = Counter(
    "onramp_connection_outcomes_total",
    "Connection outcomes per platform, with the error reason of failures.",
    ["platform", "outcome", "reason"],
)
CONNECTION_BREAKS = Counter(
    "onramp_connection_breaks_total",
    "Linked connections that came to need the customer, by platform and reason "
    "(refresh_refused, revoked_at_provider, organisation_removed, refresh_expired).",
    ["platform", "reason"],
)
CONSENTS = Counter(
    "onramp_consent_decisions_total", "Consent decisions recorded.", ["journey", "decision"]
)
WEBHOOK_ATTEMPTS = Counter(
    "onramp_webhook_attempts_total",
    "Webhook delivery attempts by result (succeeded, retrying, failed, endpoint_disabled, "
    "cancelled, lost_claim).",
    ["result"],
)
WEBHOOK_LAG = Histogram(
    "onramp_webhook_delivery_lag_seconds",
    "Time from an event to its successful delivery.",
    buckets=(1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600, float("inf")),
)
ADMIN_LOGIN_FAILURES = Counter(
    "onramp_admin_login_failures_total", "Failed admin console sign-ins (rate-limited or not)."
)
REJECTED_LINKS = Counter(
    "onramp_rejected_links_total", "Journey links refused (tampered, expired, unknown).", ["reason"]
)
REJECTED_PROVIDER_WEBHOOKS = Counter(
    "onramp_provider_webhooks_rejected_total",
    "Webhooks from accounting platforms refused (bad signature, not configured, bad body).",
    ["platform", "status"],
)

_PENDING = "onramp.metrics.pending_events"


def count_event_on_commit(session: Session, event_type: str, data: dict[str, Any]) -> None:
    """Remember an outbox event; it is counted if and when its transaction commits."""
    session.info.setdefault(_PENDING, []).append((event_type, data))


@event.listens_for(Session, "after_commit")
def _count_committed(session: Session) -> None:
    for event_type, data in session.info.pop(_PENDING, []):
        _count(event_type, data)


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop(_PENDING, None)


def _count(event_type: str, data: dict[str, Any]) -> None:
    area, _, what = event_type.partition(".")
    journey = str(data.get("journey_id") or "")
    if area == "journey":
        JOURNEYS.labels(journey, what).inc()
    elif area == "connection":
        reason = str(data.get("reason") or "")
        CONNECTIONS.labels(str(data.get("platform") or ""), what, reason).inc()
        if what == "deauthorized":
            CONNECTION_BREAKS.labels(str(data.get("platform") or ""), reason).inc()
    elif area == "consent":
        CONSENTS.labels(journey, what).inc()


def registry() -> CollectorRegistry:
    """The figures of this process, or of every gunicorn worker added up."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        shared = CollectorRegistry()
        multiprocess.MultiProcessCollector(shared)  # type: ignore[no-untyped-call]
        return shared
    return DEFAULT_REGISTRY

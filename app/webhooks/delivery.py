"""Sending queued deliveries: claim with a lease, sign, POST, record, retry or give up.

At least once, never twice at the same time: a worker claims a due delivery with a
conditional UPDATE (it wins only if nobody holds an unexpired lease), sends it, and
records the outcome only while it still holds the claim. A worker that dies mid-delivery
leaves a lease that expires after ``WEBHOOK_LEASE_SECONDS``; another worker then sends
the delivery again with the same ``webhook-id``.

Only 2xx is success. 410 Gone disables the endpoint and cancels what waits for it.
Anything else (3xx included: redirects are not followed) is retried on
:data:`RETRY_DELAYS`, each delay with ±20 % jitter and never earlier than the
receiver's ``Retry-After``; after the last attempt the delivery is ``failed``.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from flask import current_app
from sqlalchemy import ColumnElement, or_, select, update

from app import audit, clock
from app.extensions import db
from app.metrics import WEBHOOK_ATTEMPTS, WEBHOOK_LAG
from app.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from app.vault import VaultError
from app.webhooks import encryption, mutual_tls, standard_webhooks, transport
from app.webhooks.endpoints import disable_endpoint
from app.webhooks.outbox import payload
from app.webhooks.ssrf import Policy

# The wait after attempt n (n = 1, 2, ...): about 31.5 hours in all, at least 25 with jitter.
RETRY_DELAYS = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=14),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
JITTER = 0.2
TEST_EVENT_TYPE = "webhook.test"
GONE_REASON = "the receiver answered 410 Gone"


@dataclass(frozen=True)
class Outcome:
    """What one delivery attempt came to."""

    delivery_id: str
    result: str  # succeeded, retrying, failed, endpoint_disabled, cancelled, lost_claim
    status_code: int | None
    error: str | None


def retry_delay(attempts_made: int, retry_after: str | None, now: datetime) -> timedelta | None:
    """How long to wait before the next attempt, or None when there is none left."""
    if attempts_made >= MAX_ATTEMPTS:
        return None
    base = RETRY_DELAYS[attempts_made - 1]
    delay = base * random.uniform(1 - JITTER, 1 + JITTER)
    asked = parse_retry_after(retry_after, now)
    if asked is not None:
        ceiling = timedelta(seconds=current_app.config["WEBHOOK_MAX_RETRY_AFTER_SECONDS"])
        delay = max(delay, min(asked, ceiling))
    return delay


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """``Retry-After`` as a wait: delay-seconds or an HTTP date; None when absent or invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(when - now, timedelta(0))


def due(now: datetime) -> ColumnElement[bool]:
    """The condition a delivery meets when a worker may claim it now."""
    return (
        (WebhookDelivery.status == "pending")
        & (WebhookDelivery.next_attempt_at <= now)
        & or_(WebhookDelivery.claimed_until.is_(None), WebhookDelivery.claimed_until < now)
    )


def claim(delivery_id: int, worker_id: str) -> bool:
    """Take the lease on a due delivery; False when another worker has it (or it is not due)."""
    now = clock.now()
    lease = timedelta(seconds=current_app.config["WEBHOOK_LEASE_SECONDS"])
    result = db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, due(now))
        .values(claimed_until=now + lease, claimed_by=worker_id)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return int(getattr(result, "rowcount", 0)) == 1


def deliver_due(
    worker_id: str, should_stop: Callable[[], bool] = lambda: False, batch: int = 50
) -> int:
    """Send every delivery that is due now, oldest first; returns how many were attempted.

    Once an endpoint fails in this pass, its other deliveries wait for the next pass, so a
    dead or slow receiver costs one attempt per pass and never holds up the others.
    """
    attempted = 0
    failing: set[int] = set()
    seen: set[int] = set()
    while not should_stop():
        query = (
            select(WebhookDelivery.id, WebhookDelivery.endpoint_id)
            .where(due(clock.now()))
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .limit(batch)
        )
        if failing:
            query = query.where(WebhookDelivery.endpoint_id.not_in(failing))
        if seen:
            query = query.where(WebhookDelivery.id.not_in(seen))
        candidates = db.session.execute(query).all()
        db.session.commit()
        if not candidates:
            break
        for delivery_id, endpoint_id in candidates:
            if should_stop():
                break
            seen.add(delivery_id)
            if endpoint_id in failing or not claim(delivery_id, worker_id):
                continue
            outcome = deliver(delivery_id, worker_id)
            attempted += 1
            if outcome.result != "succeeded":
                failing.add(endpoint_id)
    return attempted


def deliver(delivery_id: int, worker_id: str) -> Outcome:
    """Send one delivery this worker has claimed and record what happened."""
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None:  # deliveries are never deleted; a rolled-back test database aside
        return Outcome("", "lost_claim", None, "the delivery no longer exists")
    endpoint = delivery.endpoint
    if endpoint.status != "enabled":
        _finish(delivery_id, worker_id, status="cancelled")
        return Outcome(delivery.public_id, "cancelled", None, "the endpoint is disabled")
    sent_at = clock.now()
    text = standard_webhooks.body(payload(delivery.event))
    url, public_id, endpoint_id = endpoint.url, delivery.public_id, endpoint.id
    attempts_made = delivery.attempts + 1
    try:
        body, headers = encryption.outgoing(endpoint, public_id, sent_at, text)
        tls = mutual_tls.contexts(endpoint)
    except VaultError:
        # A key was removed before the secrets were re-encrypted: nothing can be signed.
        body, headers, tls = b"", None, ()
    db.session.commit()  # no transaction stays open while the receiver thinks

    if headers is None:
        response = transport.Response(None, 0, "the endpoint's secret cannot be decrypted")
    else:
        response = transport.post(url, body, headers, _timeout(), Policy.from_config(), tls)
    db.session.add(
        WebhookAttempt(
            delivery_id=delivery_id,
            attempted_at=sent_at,
            status_code=response.status_code,
            latency_ms=response.latency_ms,
            error=response.error,
        )
    )
    code = response.status_code
    fields: dict[str, object] = {"attempts": attempts_made, "last_status_code": code}
    if code is not None and 200 <= code < 300:
        result = "succeeded"
        held = _finish(
            delivery_id, worker_id, status="succeeded", delivered_at=clock.now(), **fields
        )
    elif code == 410:
        result = "endpoint_disabled"
        held = _finish(delivery_id, worker_id, status="failed", **fields)
        gone = db.session.get(WebhookEndpoint, endpoint_id)
        if held and gone is not None:
            disable_endpoint(gone, GONE_REASON)
            db.session.commit()
    else:
        now = clock.now()
        delay = retry_delay(attempts_made, response.retry_after, now)
        if delay is None:
            result = "failed"
            held = _finish(delivery_id, worker_id, status="failed", **fields)
        else:
            result = "retrying"
            held = _finish(delivery_id, worker_id, next_attempt_at=now + delay, **fields)
    if not held:
        result = "lost_claim"
    _observe(result, delivery_id)
    error = response.error or (None if result == "succeeded" else f"HTTP {code}")
    return Outcome(public_id, result, code, error)


def _observe(result: str, delivery_id: int) -> None:
    """Feed the delivery metrics: attempts by result, and the lag of each success."""
    WEBHOOK_ATTEMPTS.labels(result).inc()
    if result == "succeeded":
        delivery = db.session.get(WebhookDelivery, delivery_id)
        if delivery is not None and delivery.delivered_at is not None:
            lag = delivery.delivered_at - delivery.event.occurred_at
            WEBHOOK_LAG.observe(max(lag.total_seconds(), 0.0))


def _finish(delivery_id: int, worker_id: str, **values: object) -> bool:
    """Record the outcome and release the lease, only if this worker still holds it."""
    result = db.session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.claimed_by == worker_id,
            WebhookDelivery.status == "pending",
        )
        .values(claimed_until=None, claimed_by=None, **values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return int(getattr(result, "rowcount", 0)) == 1


def _timeout() -> tuple[float, float]:
    """(connect, read) seconds; the environment may give a JSON list or one number."""
    value = current_app.config["WEBHOOK_TIMEOUT"]
    if isinstance(value, int | float):
        return (float(value), float(value))
    connect, read = value
    return (float(connect), float(read))


class ReplayRefused(ValueError):
    """A delivery that cannot be queued again; the message says why."""


def replay(delivery: WebhookDelivery) -> None:
    """Queue a delivery again (same ``webhook-id``), with a fresh retry schedule. Caller commits."""
    if delivery.endpoint.status != "enabled":
        raise ReplayRefused("its endpoint is disabled: enable it first")
    claimed_until = delivery.claimed_until
    if delivery.status == "pending" and claimed_until is not None and claimed_until > clock.now():
        raise ReplayRefused("a worker is sending it right now")
    delivery.status = "pending"
    delivery.attempts = 0
    delivery.next_attempt_at = clock.now()
    delivery.claimed_until = None
    delivery.claimed_by = None
    delivery.delivered_at = None
    db.session.flush()


def find_delivery(public_id: str) -> WebhookDelivery | None:
    return db.session.scalar(select(WebhookDelivery).where(WebhookDelivery.public_id == public_id))


def send_test(
    endpoint: WebhookEndpoint, actor_type: str = "cli", actor_id: str = "flask webhooks test"
) -> transport.Response:
    """Send a signed ``webhook.test`` ping now, outside the queue, and return the answer.

    Nothing is queued or retried: this is for checking a receiver by hand. The answer is
    kept in the audit log (action ``webhook.test``), which the go-live checklist reads.
    """
    now = clock.now()
    message_id = f"test_{uuid.uuid4()}"
    text = standard_webhooks.body(
        {
            "id": message_id,
            "type": TEST_EVENT_TYPE,
            "timestamp": now.isoformat().replace("+00:00", "Z"),
            "data": {"endpoint_id": endpoint.public_id},
        }
    )
    body, headers = encryption.outgoing(endpoint, message_id, now, text)
    response = transport.post(
        endpoint.url,
        body,
        headers,
        _timeout(),
        Policy.from_config(),
        mutual_tls.contexts(endpoint),
    )
    code = response.status_code
    audit.record(
        actor_type,
        actor_id,
        TEST_EVENT_TYPE,
        "webhook_endpoint",
        endpoint.public_id,
        None,
        {
            "status_code": code,
            "accepted": code is not None and 200 <= code < 300,
            "error": response.error,
        },
    )
    db.session.commit()
    return response

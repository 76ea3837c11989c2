"""The outbox: events are written in the same transaction as the change they report.

Nothing here sends anything. :func:`emit` adds the event and one pending delivery per
subscribed endpoint to the caller's session, so the event exists exactly when the
change is committed; the delivery worker sends it later, at least once.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import Customer, OutboxEvent, WebhookDelivery, WebhookEndpoint

EVENT_TYPES = (
    "consent.granted",
    "consent.declined",
    "consent.withdrawn",
    "connection.linked",
    "connection.failed",
    "connection.deauthorized",
    "connection.disconnected",
    "journey.started",
    "journey.completed",
    "journey.abandoned",
)


def subscribed(endpoint: WebhookEndpoint, event_type: str) -> bool:
    return endpoint.status == "enabled" and (
        not endpoint.event_types or event_type in endpoint.event_types
    )


def emit(event_type: str, customer: Customer | None, **ids: str | None) -> OutboxEvent:
    """Record an event about ``customer``; ``ids`` are public ids, never personal data."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    data: dict[str, Any] = {}
    if customer is not None:
        data["customer_id"] = customer.public_id
        data["external_id"] = customer.external_id
    data.update({key: value for key, value in ids.items() if value is not None})
    event = OutboxEvent(
        type=event_type, data=data, customer_id=customer.id if customer is not None else None
    )
    db.session.add(event)
    endpoints = db.session.scalars(
        select(WebhookEndpoint).where(WebhookEndpoint.status == "enabled")
    )
    for endpoint in endpoints:
        if subscribed(endpoint, event_type):
            db.session.add(WebhookDelivery(event=event, endpoint=endpoint))
    return event


def payload(event: OutboxEvent) -> dict[str, Any]:
    """The body sent for an event, per the Standard Webhooks payload structure."""
    return {
        "id": event.public_id,
        "type": event.type,
        "timestamp": event.occurred_at.isoformat().replace("+00:00", "Z"),
        "data": event.data,
    }

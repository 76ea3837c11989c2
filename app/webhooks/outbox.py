"""The outbox: events are written in the same transaction as the change they report.

Nothing here sends anything. :func:`emit` adds the event and one pending delivery per
subscribed endpoint to the caller's session, so the event exists exactly when the
change is committed; the delivery worker sends it later, at least once.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.metrics import count_event_on_commit
from app.models import (
    Connection,
    Customer,
    JourneyRun,
    OutboxEvent,
    WebhookDelivery,
    WebhookEndpoint,
)

EVENT_TYPES = (
    "consent.granted",
    "consent.declined",
    "consent.withdrawn",
    "consent.reconfirmed",
    "consent.expiring",
    "consent.expired",
    "connection.linked",
    "connection.failed",
    "connection.expiring",
    "connection.deauthorized",
    "connection.disconnected",
    "journey.started",
    "journey.completed",
    "journey.abandoned",
    "journey.software_not_listed",
    "journey.feedback",
    "upload.received",
    "delegation.created",
    "delegation.completed",
    "delegation.revoked",
)


def subscribed(endpoint: WebhookEndpoint, event_type: str) -> bool:
    return endpoint.status == "enabled" and (
        not endpoint.event_types or event_type in endpoint.event_types
    )


def emit(
    event_type: str, customer: Customer | int | None, **ids: str | int | bool | list[str] | None
) -> OutboxEvent:
    """Record an event about ``customer`` (or its row id); ``ids`` are public ids, codes or flags,
    never tokens or personal data. Commit it with the change it reports."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    if isinstance(customer, int):
        customer = db.session.get(Customer, customer)
    data: dict[str, Any] = {}
    if customer is not None:
        data["customer_id"] = customer.public_id
        data["external_id"] = customer.external_id
    data.update({key: value for key, value in ids.items() if value is not None})
    event = OutboxEvent(
        type=event_type, data=data, customer_id=customer.id if customer is not None else None
    )
    db.session.add(event)
    count_event_on_commit(db.session(), event_type, data)
    endpoints = db.session.scalars(
        select(WebhookEndpoint).where(WebhookEndpoint.status == "enabled")
    )
    for endpoint in endpoints:
        if subscribed(endpoint, event_type):
            db.session.add(WebhookDelivery(event=event, endpoint=endpoint))
    return event


def connection_ids(connection: Connection) -> dict[str, str | None]:
    """The ids a connection event carries."""
    run = db.session.get(JourneyRun, connection.run_id) if connection.run_id else None
    return {
        "connection_id": connection.public_id,
        "platform": connection.platform,
        "organisation_id": connection.org_id,
        "run_id": run.public_id if run else None,
        "journey_id": run.journey_id if run else None,
        # Who signed in at the platform: owner, or the accountant, bookkeeper or other
        # person the customer asked (never their name).
        "authorised_by_role": connection.authorised_by_role or "owner",
    }


def payload(event: OutboxEvent) -> dict[str, Any]:
    """The body sent for an event, per the Standard Webhooks payload structure."""
    return {
        "id": event.public_id,
        "type": event.type,
        "timestamp": event.occurred_at.isoformat().replace("+00:00", "Z"),
        "data": event.data,
    }

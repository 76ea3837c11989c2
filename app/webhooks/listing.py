"""The console's lists of webhook deliveries and endpoints, and the overview's counts of them.

One query serves a list and the figure that links to it, so that they always agree.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, or_, select

from app.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

STATUSES = ("pending", "succeeded", "failed", "cancelled")
# The ``failed`` filter of the deliveries list: a failed attempt within this long.
FAILED_WITHIN = {"hour": timedelta(hours=1)}
ENDPOINT_STATUSES = ("enabled", "disabled")


def failed_attempt() -> ColumnElement[bool]:
    """An attempt the receiver did not accept: no answer, or not a 2xx."""
    return or_(
        WebhookAttempt.status_code.is_(None),
        WebhookAttempt.status_code < 200,
        WebhookAttempt.status_code >= 300,
    )


def deliveries(
    status: str | None = None,
    endpoint_id: str | None = None,
    failed_since: datetime | None = None,
) -> Select[Any]:
    """Deliveries in ``status``, to the endpoint ``endpoint_id`` (its public id), with a
    failed attempt since ``failed_since``: each filter applies when given."""
    query = select(WebhookDelivery)
    if status:
        query = query.where(WebhookDelivery.status == status)
    if endpoint_id:
        query = query.where(
            WebhookDelivery.endpoint_id.in_(
                select(WebhookEndpoint.id).where(WebhookEndpoint.public_id == endpoint_id)
            )
        )
    if failed_since is not None:
        query = query.where(
            WebhookDelivery.id.in_(
                select(WebhookAttempt.delivery_id).where(
                    WebhookAttempt.attempted_at >= failed_since, failed_attempt()
                )
            )
        )
    return query


def endpoints(status: str | None = None) -> Select[Any]:
    """Every endpoint (or those in ``status``), oldest first."""
    query = select(WebhookEndpoint).order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
    return query.where(WebhookEndpoint.status == status) if status else query

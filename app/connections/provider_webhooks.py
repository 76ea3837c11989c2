"""Events the accounting platforms send us, verified before anything is believed.

Xero signs with ``x-xero-signature`` and QuickBooks with ``intuit-signature``: both are
the base64 HMAC-SHA256 of the raw body, compared here in constant time. A bad
signature changes nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from sqlalchemy import update

from app import clock
from app.extensions import db
from app.metrics import REJECTED_PROVIDER_WEBHOOKS
from app.models import Connection
from app.platforms import OrganisationsIn, Platform, dig, setting
from app.security_events import platform_webhook_refused


class WebhookRefused(Exception):
    """A request that is not a genuine, readable event from the platform."""

    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status = status
        self.detail = detail


def signature_matches(body: bytes, key: str, signature: str) -> bool:
    expected = base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest())
    # Bytes, not str: compare_digest refuses non-ASCII text, and headers can hold anything.
    return hmac.compare_digest(expected, signature.strip().encode("utf-8", "replace"))


def _organisation_ids(payload: Any, formats: tuple[OrganisationsIn, ...]) -> set[str]:
    """The organisations an event names, read in the first of the platform's formats that
    fits: Xero's ``events[].tenantId``, QuickBooks' CloudEvents array of
    ``intuitaccountid`` (or its legacy ``eventNotifications[].realmId``)."""
    for spec in formats:
        items = payload if spec.list is None else dig(payload, spec.list)
        if isinstance(items, list):
            return {
                str(value)
                for item in items
                if isinstance(item, dict) and (value := item.get(spec.field)) not in (None, "")
            }
    raise WebhookRefused(400, "the payload is in none of the platform's event formats")


def receive(platform: Platform, body: bytes, headers: dict[str, str]) -> int:
    """Check an event's signature and note it on the connections it names, making them due
    for a health check (app/connections/health.py); returns how many."""
    try:
        return _receive(platform, body, headers)
    except WebhookRefused as refused:
        REJECTED_PROVIDER_WEBHOOKS.labels(platform.key, str(refused.status)).inc()
        platform_webhook_refused(platform.key, refused.status)
        raise


def _receive(platform: Platform, body: bytes, headers: dict[str, str]) -> int:
    spec = platform.webhook
    key = setting(platform, spec.secret) if spec else None
    if spec is None or not key:
        raise WebhookRefused(404, f"no webhooks are configured for {platform.name}")
    signature = headers.get(spec.header.lower()) or ""
    if not signature or not signature_matches(body, key, signature):
        raise WebhookRefused(401, "the signature does not match")
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WebhookRefused(400, "the body is not JSON") from exc
    organisations = _organisation_ids(payload, spec.organisations)
    if not organisations:
        return 0  # Xero's "intent to receive" check: a signed, empty list
    noted = db.session.execute(
        update(Connection)
        .where(Connection.platform == platform.key, Connection.org_id.in_(organisations))
        # Something changed there, perhaps the app's access: asked about at the next pass.
        .values(last_provider_event_at=clock.now(), health_checked_at=None)
    )
    db.session.commit()
    return int(noted.rowcount)  # type: ignore[attr-defined]

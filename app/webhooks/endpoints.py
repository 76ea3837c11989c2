"""Webhook endpoints: where the business hears about events, and the secrets it checks them with.

Secrets are Standard Webhooks ``whsec_`` secrets (base64 of 32 random bytes), shown
once and stored encrypted with the token vault's keys. Rotating adds a new secret and
keeps the older ones signing for ``WEBHOOK_SECRET_GRACE_SECONDS`` (24 hours by default)
so that the receiver can switch over; :func:`expire_old_secrets` ends that early.

Every function adds to the session; the caller commits.
"""

from __future__ import annotations

import base64
import secrets
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select, update

from app import clock, vault
from app.extensions import db
from app.models import WebhookDelivery, WebhookEndpoint
from app.webhooks.outbox import EVENT_TYPES
from app.webhooks.ssrf import UnsafeDestination, check_url

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32
MAX_DESCRIPTION_LENGTH = 500


class EndpointRefused(ValueError):
    """An endpoint that cannot be registered: ``field`` names the input, ``message`` says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def add_endpoint(
    url: str, event_types: list[str], description: str | None = None
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint; returns it and its secret, which is shown only this once.

    ``event_types`` is a subset of ``outbox.EVENT_TYPES``; an empty list means every
    type. The URL must pass the SSRF rules (see ``app.webhooks.ssrf``).
    """
    secret = new_secret()
    endpoint = WebhookEndpoint(
        url=_checked_url(url),
        event_types=_checked_event_types(event_types),
        description=_checked_description(description),
        status="enabled",
    )
    _store_secrets(endpoint, [{"secret": secret, "expires_at": None}])
    db.session.add(endpoint)
    db.session.flush()
    return endpoint, secret


def update_endpoint(
    endpoint: WebhookEndpoint,
    *,
    url: str | None = None,
    event_types: list[str] | None = None,
    description: str | None = None,
) -> WebhookEndpoint:
    """Change what is given (None leaves a field as it is); the same checks as adding."""
    if url is not None:
        endpoint.url = _checked_url(url)
    if event_types is not None:
        endpoint.event_types = _checked_event_types(event_types)
    if description is not None:
        endpoint.description = _checked_description(description)
    db.session.flush()
    return endpoint


def get_endpoint(public_id: str) -> WebhookEndpoint | None:
    return db.session.scalar(select(WebhookEndpoint).where(WebhookEndpoint.public_id == public_id))


def list_endpoints() -> list[WebhookEndpoint]:
    """Every endpoint, oldest first, removed ones included (their history is kept)."""
    return list(
        db.session.scalars(
            select(WebhookEndpoint).order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
        )
    )


def rotate_secret(endpoint: WebhookEndpoint) -> str:
    """Add a new secret (returned, shown once); older ones keep signing for the grace period."""
    secret = new_secret()
    grace_ends = clock.now() + timedelta(seconds=current_app.config["WEBHOOK_SECRET_GRACE_SECONDS"])
    kept = []
    for entry in _live_entries(endpoint):
        expires_at = _expiry(entry)
        if expires_at is None or expires_at > grace_ends:
            expires_at = grace_ends
        kept.append({"secret": entry["secret"], "expires_at": expires_at.isoformat()})
    _store_secrets(endpoint, [{"secret": secret, "expires_at": None}, *kept])
    db.session.flush()
    return secret


def expire_old_secrets(endpoint: WebhookEndpoint) -> int:
    """End a rotation now: only the newest secret signs. Returns how many were dropped."""
    entries = _live_entries(endpoint)
    _store_secrets(endpoint, entries[:1])
    db.session.flush()
    return max(len(entries) - 1, 0)


def signing_secrets(endpoint: WebhookEndpoint) -> list[str]:
    """The secrets that sign deliveries now, newest first."""
    return [entry["secret"] for entry in _live_entries(endpoint)]


def disable_endpoint(endpoint: WebhookEndpoint, reason: str) -> int:
    """Stop sending to an endpoint and cancel what is waiting; returns how many were cancelled."""
    endpoint.status = "disabled"
    endpoint.disabled_reason = reason[:200]
    return cancel_pending(endpoint)


def enable_endpoint(endpoint: WebhookEndpoint) -> None:
    """Send to the endpoint again from the next event on (cancelled deliveries can be replayed)."""
    endpoint.status = "enabled"
    endpoint.disabled_reason = None
    db.session.flush()


def remove_endpoint(endpoint: WebhookEndpoint) -> int:
    """Remove an endpoint: disabled for good, pending deliveries cancelled, history kept."""
    return disable_endpoint(endpoint, "removed")


def cancel_pending(endpoint: WebhookEndpoint) -> int:
    result = db.session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.status == "pending")
        .values(status="cancelled", claimed_until=None, claimed_by=None)
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
    return int(getattr(result, "rowcount", 0) or 0)


def pending_count(endpoint: WebhookEndpoint) -> int:
    return int(
        db.session.scalar(
            select(db.func.count(WebhookDelivery.id)).where(
                WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.status == "pending"
            )
        )
        or 0
    )


def rotate_encryption_key() -> int:
    """Re-encrypt every endpoint's secrets with the first ``TOKEN_ENCRYPTION_KEY``; returns
    how many endpoints. Run with the provider tokens' rotation, before an old key goes."""
    fernet = vault.keys()
    count = 0
    for endpoint in db.session.scalars(select(WebhookEndpoint)):
        endpoint.secrets_ciphertext = fernet.rotate(endpoint.secrets_ciphertext.encode()).decode()
        if endpoint.client_certificates_ciphertext:  # mutual TLS keys (app/webhooks/mutual_tls.py)
            rotated = fernet.rotate(endpoint.client_certificates_ciphertext.encode())
            endpoint.client_certificates_ciphertext = rotated.decode()
        count += 1
    db.session.flush()
    return count


def _checked_url(url: str) -> str:
    if not isinstance(url, str) or not url.strip():
        raise EndpointRefused("url", "a URL is required")
    try:
        return check_url(url).url
    except UnsafeDestination as exc:
        raise EndpointRefused("url", exc.message) from exc


def _checked_event_types(event_types: list[str]) -> list[str]:
    if not isinstance(event_types, list | tuple):
        raise EndpointRefused("event_types", "must be a list of event types")
    chosen: list[str] = []
    for event_type in event_types:
        if event_type not in EVENT_TYPES:
            known = ", ".join(EVENT_TYPES)
            raise EndpointRefused("event_types", f"unknown event type {event_type!r} ({known})")
        if event_type not in chosen:
            chosen.append(event_type)
    return chosen


def _checked_description(description: str | None) -> str | None:
    if description is None:
        return None
    if not isinstance(description, str):
        raise EndpointRefused("description", "must be text")
    if len(description) > MAX_DESCRIPTION_LENGTH:
        raise EndpointRefused("description", f"must be at most {MAX_DESCRIPTION_LENGTH} characters")
    return description.strip() or None


def _store_secrets(endpoint: WebhookEndpoint, entries: list[dict[str, Any]]) -> None:
    endpoint.secrets_ciphertext = vault.encrypt_json({"secrets": entries})


def _live_entries(endpoint: WebhookEndpoint) -> list[dict[str, Any]]:
    """Unexpired secret entries, newest first."""
    now = clock.now()
    stored = vault.decrypt_json(endpoint.secrets_ciphertext)["secrets"]
    live = []
    for entry in stored:
        expires_at = _expiry(entry)
        if expires_at is None or expires_at > now:
            live.append(entry)
    return live


def _expiry(entry: dict[str, Any]) -> datetime | None:
    value = entry.get("expires_at")
    return datetime.fromisoformat(value) if value else None

"""Change notifications as Xero and QuickBooks send them, signed with the app's key.

``signed_event`` builds one in the vendor's current format; ``send_change_notification``
posts it to the URL configured for that vendor (``SANDBOX_WEBHOOK_URLS``), signed with
its key (``SANDBOX_WEBHOOK_KEYS``): both dicts of platform key to value. Either side
may also build an event and post it itself.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import string
import uuid
from typing import Any

import requests
from flask import current_app

from app.sandbox.data import find_organisation
from app.sandbox.dialects import DIALECTS, dialect_organisation_id
from app.sandbox.storage import utcnow

XERO_SIGNATURE = "x-xero-signature"
INTUIT_SIGNATURE = "intuit-signature"
SEND_TIMEOUT = 10


def signature(body: bytes, secret: str) -> str:
    """base64(HMAC-SHA256(raw body, key)): how both vendors sign."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _entropy() -> str:
    alphabet = string.ascii_uppercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(20))


def _xero_body(events: list[dict[str, Any]]) -> dict[str, Any]:
    sequence = 1 if events else 0
    return {
        "events": events,
        "firstEventSequence": sequence,
        "lastEventSequence": sequence,
        "entropy": _entropy(),
    }


def _xero_events(organisation_id: str) -> list[dict[str, Any]]:
    """One contact updated in the organisation (Xero's webhook sample, today's ids)."""
    contact = str(uuid.uuid4())
    return [
        {
            "resourceUrl": f"https://api.xero.com/api.xro/2.0/Contacts/{contact}",
            "resourceId": contact,
            "eventDateUtc": utcnow().strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3],
            "eventType": "UPDATE",
            "eventCategory": "CONTACT",
            "tenantId": organisation_id,
            "tenantType": "ORGANISATION",
        }
    ]


def _quickbooks_events(realm_id: str) -> list[dict[str, Any]]:
    """One customer updated in the company, as a CloudEvent (Intuit's 2025 format; the
    ``source`` and entity id values are invented)."""
    return [
        {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": "intuit.sandbox",
            "type": "qbo.customer.updated.v1",
            "datacontenttype": "application/json",
            "time": utcnow().isoformat(timespec="microseconds").replace("+00:00", "Z"),
            "intuitentityid": str(secrets.randbelow(9000) + 1000),
            "intuitaccountid": realm_id,
            "data": {},
        }
    ]


def _signed(body: Any, header: str, secret: str) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    return raw, {"Content-Type": "application/json", header: signature(raw, secret)}


def signed_event(key: str, organisation_id: str, secret: str) -> tuple[bytes, dict[str, str]]:
    """A change notification from the vendor played by ``key`` ("xero" or "quickbooks")
    about the sandbox organisation ``organisation_id``: its raw body and the headers
    to post it with, signed with ``secret``.

    Xero: ``{"events": [...], "firstEventSequence", "lastEventSequence", "entropy"}``
    naming the organisation by tenantId, signed in ``x-xero-signature``. QuickBooks: a
    top-level array of CloudEvents naming it by realm id in ``intuitaccountid``, signed
    in ``intuit-signature``. Raises ValueError for another vendor or organisation.
    """
    organisation = find_organisation(organisation_id)
    if organisation is None:
        raise ValueError(f"No sandbox organisation {organisation_id!r}")
    vendor_id = dialect_organisation_id(key, organisation)
    if key == "xero":
        return _signed(_xero_body(_xero_events(vendor_id)), XERO_SIGNATURE, secret)
    if key == "quickbooks":
        return _signed(_quickbooks_events(vendor_id), INTUIT_SIGNATURE, secret)
    raise ValueError(f"{key!r} sends no change notifications")


def xero_intent_to_receive(secret: str) -> tuple[bytes, dict[str, str]]:
    """Xero's "intent to receive" check: a signed notification with no events. The
    receiver must answer 200 when the signature matches, 401 when it does not."""
    return _signed(_xero_body([]), XERO_SIGNATURE, secret)


def _setting(name: str, key: str) -> str | None:
    values = current_app.config.get(name) or {}
    found = values.get(key) if isinstance(values, dict) else None
    return str(found) if found else None


def can_notify(key: str) -> bool:
    """Whether change notifications from ``key`` have both a key and a URL configured."""
    return (
        key in DIALECTS
        and DIALECTS[key].webhooks
        and _setting("SANDBOX_WEBHOOK_KEYS", key) is not None
        and _setting("SANDBOX_WEBHOOK_URLS", key) is not None
    )


def send_change_notification(key: str, organisation_id: str) -> int | None:
    """Post a signed change notification about the organisation to the URL configured
    for ``key``; the status code the receiver answered, or None if it could not be
    reached. Call only when ``can_notify(key)``."""
    secret = _setting("SANDBOX_WEBHOOK_KEYS", key)
    url = _setting("SANDBOX_WEBHOOK_URLS", key)
    if secret is None or url is None:
        raise ValueError(f"No change notifications are configured for {key!r}")
    body, headers = signed_event(key, organisation_id, secret)
    try:
        answer = requests.post(url, data=body, headers=headers, timeout=SEND_TIMEOUT)
    except requests.RequestException:
        return None
    return answer.status_code

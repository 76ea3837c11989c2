"""Standard Webhooks signatures (https://www.standardwebhooks.com), made with ``standardwebhooks``.

``webhook-id`` is the delivery's public id (the same on every retry, so receivers can
drop duplicates), ``webhook-timestamp`` the time of this attempt in Unix seconds, and
``webhook-signature`` one ``v1,<base64 HMAC-SHA256>`` per live secret, space-separated,
newest first.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from standardwebhooks import Webhook


def body(payload: dict[str, Any]) -> str:
    """The exact text that is signed and sent."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def headers(message_id: str, timestamp: datetime, text: str, secrets: list[str]) -> dict[str, str]:
    """The three Standard Webhooks headers for ``text`` signed with every secret."""
    if not secrets:
        raise ValueError("an endpoint without secrets cannot sign")
    signatures = [
        Webhook(secret).sign(msg_id=message_id, timestamp=timestamp, data=text)
        for secret in secrets
    ]
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": " ".join(signatures),
    }

"""Consent records made directly for a test, each appended to the hash chain like any other."""

from __future__ import annotations

from typing import Any

from app.consent import chain
from app.models import ConsentRecord

DEFAULTS: dict[str, Any] = {
    "required": False,
    "expires_at": None,
    "refers_to": None,
    "actor_type": "customer",
    "actor_id": None,
    "collection_method": "journey",
    "controllers": [
        {"name": "Northwind Lending", "email": None, "phone": None, "privacy_url": None}
    ],
    "purpose": "To assess your application.",
    "data_categories": ["Financial statements"],
    "policy_url": None,
    "policy_version": "1",
    "jurisdiction": "GB",
    "scope": None,
    "personal_ciphertext": None,
}


def chained(**fields: Any) -> ConsentRecord:
    """A record with every field a real one has, given its place in the chain (not committed)."""
    return chain.append(ConsentRecord(**{**DEFAULTS, **fields}))

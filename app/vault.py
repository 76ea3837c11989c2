"""Provider tokens and PKCE verifiers are encrypted at rest with Fernet (AES-128-CBC + HMAC).

``TOKEN_ENCRYPTION_KEY`` may list several comma-separated keys: the first encrypts,
all of them decrypt, so a key can be rotated without losing stored tokens.
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app


class VaultError(Exception):
    """Stored ciphertext that no configured key can open."""


def keys() -> MultiFernet:
    """Every configured key: the first encrypts (and rotation moves to it), all decrypt."""
    keys = [
        k.strip() for k in str(current_app.config["TOKEN_ENCRYPTION_KEY"]).split(",") if k.strip()
    ]
    return MultiFernet([Fernet(k) for k in keys])


def encrypt_text(plaintext: str) -> str:
    return keys().encrypt(plaintext.encode()).decode()


def decrypt_text(ciphertext: str) -> str:
    try:
        return keys().decrypt(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise VaultError("ciphertext cannot be decrypted with the configured keys") from exc


def encrypt_json(value: dict[str, Any]) -> str:
    return encrypt_text(json.dumps(value, separators=(",", ":")))


def decrypt_json(ciphertext: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(decrypt_text(ciphertext))
    return value

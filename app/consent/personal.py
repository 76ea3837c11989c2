"""Each customer's own data key: the personal details kept with their consent records.

The key (Fernet) is stored encrypted with ``TOKEN_ENCRYPTION_KEY``. What it encrypts
stays in the ledger for ever, but once erasure destroys the key it is unreadable
noise, and the hash chain, which covers the ciphertext, still verifies.
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from app.models import Customer
from app.vault import decrypt_text, encrypt_text


class KeyDestroyed(Exception):
    """The customer was erased: what their key encrypted can no longer be read."""


def _fernet(customer: Customer, *, create: bool) -> Fernet:
    if customer.data_key_ciphertext is None:
        if customer.erased_at is not None or not create:
            raise KeyDestroyed(customer.public_id)
        customer.data_key_ciphertext = encrypt_text(Fernet.generate_key().decode())
    return Fernet(decrypt_text(customer.data_key_ciphertext).encode())


def encrypt_for(customer: Customer, value: dict[str, Any] | str) -> str:
    """Encrypt with the customer's key, creating it on first use (the caller commits)."""
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return _fernet(customer, create=True).encrypt(text.encode()).decode()


def encrypt_bytes_for(customer: Customer, data: bytes) -> bytes:
    """A file's bytes encrypted with the customer's key, created on first use."""
    return _fernet(customer, create=True).encrypt(data)


def decrypt_bytes_for(customer: Customer, ciphertext: bytes) -> bytes:
    """The file's bytes; KeyDestroyed once the customer is erased."""
    try:
        return _fernet(customer, create=False).decrypt(ciphertext)
    except InvalidToken as exc:
        raise KeyDestroyed(customer.public_id) from exc


def decrypt_text_for(customer: Customer, ciphertext: str) -> str:
    try:
        return _fernet(customer, create=False).decrypt(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise KeyDestroyed(customer.public_id) from exc


def decrypt_text_or_none(customer: Customer, ciphertext: str) -> str | None:
    """The plain text, or None once the customer's key is destroyed."""
    try:
        return decrypt_text_for(customer, ciphertext)
    except KeyDestroyed:
        return None


def decrypt_for(customer: Customer, ciphertext: str | None) -> dict[str, Any] | None:
    """The personal details, or None when there are none or the key is gone."""
    text = decrypt_text_or_none(customer, ciphertext) if ciphertext is not None else None
    if text is None:
        return None
    value: dict[str, Any] = json.loads(text)
    return value


def destroy_key(customer: Customer) -> None:
    """Crypto-shredding: everything encrypted for this customer becomes unreadable."""
    customer.data_key_ciphertext = None

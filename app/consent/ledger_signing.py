"""Ed25519 signatures on receipts and checkpoints, as compact JWS (joserfc, RFC 9864 "Ed25519").

The private key comes from ``CONSENT_SIGNING_KEY``: the base64url 32-byte seed, or a PEM.
Anyone holding the public half (``flask consents public-key``) can check a signature
offline, without the server or its database.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import current_app
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey

ALGORITHM = "Ed25519"


class SignatureInvalid(Exception):
    """A JWS that is malformed, altered, or signed by another key."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def load_private_key(value: str) -> Ed25519PrivateKey:
    """The key from its configured form: a PEM, or the base64url seed."""
    value = value.strip()
    if value.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(value.encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("CONSENT_SIGNING_KEY is not an Ed25519 key")
        return key
    try:
        seed = _b64url_decode(value)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("CONSENT_SIGNING_KEY is neither a PEM nor base64url") from exc
    if len(seed) != 32:
        raise ValueError("CONSENT_SIGNING_KEY must hold a 32-byte Ed25519 seed")
    return Ed25519PrivateKey.from_private_bytes(seed)


def load_public_key(pem: str) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem.encode())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def private_key() -> Ed25519PrivateKey:
    return load_private_key(str(current_app.config["CONSENT_SIGNING_KEY"]))


def public_key() -> Ed25519PublicKey:
    return private_key().public_key()


def public_key_pem(key: Ed25519PublicKey | None = None) -> str:
    return (
        (key or public_key())
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def key_id(key: Ed25519PublicKey | None = None) -> str:
    """A short, stable name for the key (RFC 7638 thumbprint), sent as ``kid``."""
    return str(OKPKey.import_key(public_key_pem(key)).thumbprint())


def issuer() -> str:
    return str(current_app.config.get("CONSENT_ISSUER") or current_app.config["PUBLIC_URL"])


def sign(payload: dict[str, Any], typ: str) -> str:
    """The compact JWS of ``payload`` (canonical JSON), signed with the configured key."""
    key = private_key()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    body = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    header = {"alg": ALGORITHM, "typ": typ, "kid": key_id(key.public_key())}
    return str(
        jws.serialize_compact(header, body.encode(), OKPKey.import_key(pem), algorithms=[ALGORITHM])
    )


def verify(token: str, key: Ed25519PublicKey) -> tuple[dict[str, Any], dict[str, Any]]:
    """The (header, payload) of a genuine JWS; SignatureInvalid otherwise.

    Every segment must be exactly as its bytes encode, so that no character of the
    token can change without the check failing (base64 padding bits included).
    """
    token = token.strip()
    parts = token.split(".")
    if len(parts) != 3:
        raise SignatureInvalid("not a compact JWS (three dot-separated parts)")
    try:
        decoded = [_b64url_decode(part) for part in parts]
    except (binascii.Error, ValueError) as exc:
        raise SignatureInvalid("a part is not base64url") from exc
    if any(_b64url(raw) != part for raw, part in zip(decoded, parts, strict=True)):
        raise SignatureInvalid("a part is not in its canonical base64url form")
    try:
        result = jws.deserialize_compact(
            token, OKPKey.import_key(public_key_pem(key)), algorithms=[ALGORITHM]
        )
        payload = json.loads(result.payload)
    except (JoseError, ValueError, UnicodeDecodeError) as exc:
        raise SignatureInvalid("the signature does not match this key") from exc
    if not isinstance(payload, dict):
        raise SignatureInvalid("the payload is not a JSON object")
    return dict(result.protected), payload

"""Encrypted payloads: the body sent as a compact JWE (RFC 7516) to the receiver's public key.

Optional, per endpoint. The business gives the receiver's PUBLIC key, as a JWK or PEM:
RSA of at least 2048 bits (``RSA-OAEP-256``), EC on P-256 or P-384, or OKP X25519
(``ECDH-ES+A256KW``); the content is always ``A256GCM``. The JWE header carries ``kid``,
the key's RFC 7638 thumbprint, so a receiver holding several private keys picks the right
one during a rotation. The Standard Webhooks signature is made over the JWE text exactly as
sent (``Content-Type: application/jose``): receivers verify first, then decrypt.

The public key is stored as a JWK in the clear, beside the endpoint: it is public by
definition, so the vault (which protects the signing secrets) adds nothing. A private key
is refused before it is stored, and its contents are never repeated in a message or a log.

Every function that changes an endpoint adds to the session; the caller commits.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa, x25519
from flask_babel import gettext as _
from joserfc import jwe, jwk
from joserfc.errors import JoseError

from app import audit
from app.models import WebhookEndpoint
from app.webhooks import standard_webhooks
from app.webhooks.endpoints import EndpointRefused, signing_secrets

CONTENT_TYPE = "application/jose"
CONTENT_ENCRYPTION = "A256GCM"
KEY_ALGORITHMS = {"RSA": "RSA-OAEP-256", "EC": "ECDH-ES+A256KW", "OKP": "ECDH-ES+A256KW"}
CURVES = {"EC": ("P-256", "P-384"), "OKP": ("X25519",)}
MIN_RSA_BITS = 2048
# A 4096-bit RSA JWK is about 800 characters and its PEM about the same; anything far
# longer is not one public key.
MAX_KEY_CHARS = 10_000
# JWK members that only a private (or symmetric) key has (RFC 7518 section 6).
PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
FIELD = "public_key"


class KeyRefused(EndpointRefused):
    """A key that cannot be used to encrypt payloads; ``message`` says why (never the key)."""

    def __init__(self, message: str) -> None:
        super().__init__(FIELD, message)


@dataclass(frozen=True)
class ReceiverKey:
    """A receiver's public key as stored: the JWK, its thumbprint and the algorithms."""

    jwk: dict[str, Any]

    @property
    def kid(self) -> str:
        return str(self.jwk["kid"])

    @property
    def alg(self) -> str:
        return str(self.jwk["alg"])

    @property
    def description(self) -> str:
        """E.g. ``RSA 3072 bits`` or ``EC P-256``."""
        if self.jwk["kty"] == "RSA":
            return f"RSA {_rsa_bits(_import(self.jwk))} bits"
        return f"{self.jwk['kty']} {self.jwk['crv']}"

    def summary(self) -> dict[str, str]:
        """What the API and the console show: no key material, only what identifies it."""
        return {
            "kid": self.kid,
            "key_type": self.description,
            "alg": self.alg,
            "enc": CONTENT_ENCRYPTION,
        }


def parse_public_key(value: object) -> ReceiverKey:
    """Read a public JWK (a dict or its JSON text) or PEM, refusing private, weak or other keys."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise KeyRefused(_("paste the receiver's public key (a JWK or PEM)"))
        if len(text) > MAX_KEY_CHARS:
            raise KeyRefused(_("a public key is at most %(count)s characters", count=MAX_KEY_CHARS))
        if text.startswith("{"):
            try:
                value = json.loads(text)
            except ValueError as exc:
                raise KeyRefused(_not_a_key()) from exc
        else:
            return _checked(_from_pem(text))
    if not isinstance(value, dict):
        raise KeyRefused(_("give the key as a JWK object or a PEM text"))
    if any(member in value for member in PRIVATE_MEMBERS):
        raise _private_refused()
    if value.get("use", "enc") != "enc":
        raise KeyRefused(_("this key is marked for signatures (use: sig); give an encryption key"))
    if value.get("kty") == "RSA":
        _check_rsa_bits(_modulus_bits(value.get("n")))
    try:
        key = _import(value)
    except (JoseError, ValueError, TypeError) as exc:
        raise KeyRefused(
            _("this JWK cannot be read; it must be %(supported)s", supported=_supported())
        ) from exc
    return _checked(key)


def receiver_key(endpoint: WebhookEndpoint) -> ReceiverKey | None:
    """The endpoint's key, or None when its payloads are sent in the clear."""
    stored = endpoint.encryption_jwk
    return ReceiverKey(dict(stored)) if stored else None


def summary(endpoint: WebhookEndpoint) -> dict[str, str] | None:
    """What identifies the endpoint's key (never key material), or None without one."""
    key = receiver_key(endpoint)
    return key.summary() if key else None


def set_key(endpoint: WebhookEndpoint, value: object) -> ReceiverKey:
    """Encrypt the endpoint's payloads to this public key from the next attempt on."""
    key = parse_public_key(value)
    endpoint.encryption_jwk = key.jwk
    return key


def remove_key(endpoint: WebhookEndpoint) -> bool:
    """Send the endpoint's payloads in the clear again; False when there was no key."""
    had = endpoint.encryption_jwk is not None
    endpoint.encryption_jwk = None
    return had


def replace_key(
    endpoint: WebhookEndpoint, value: object, actor_type: str, actor_id: str
) -> ReceiverKey:
    """Set or replace the endpoint's key, with an audit entry. Raises :class:`KeyRefused`."""
    before = summary(endpoint)
    key = set_key(endpoint, value)
    _audit(endpoint, before, actor_type, actor_id)
    return key


def drop_key(endpoint: WebhookEndpoint, actor_type: str, actor_id: str) -> None:
    """Send the endpoint's payloads in the clear again, with an audit entry."""
    before = summary(endpoint)
    remove_key(endpoint)
    _audit(endpoint, before, actor_type, actor_id)


def _audit(
    endpoint: WebhookEndpoint, before: dict[str, str] | None, actor_type: str, actor_id: str
) -> None:
    # Keys are named by their thumbprint only; a public key is no secret, but it is bulky.
    audit.record(
        actor_type,
        actor_id,
        "webhook_endpoint.encryption_key",
        "webhook_endpoint",
        endpoint.public_id,
        {"encryption": before},
        {"encryption": summary(endpoint)},
    )


def seal(key: ReceiverKey, text: str) -> str:
    """``text`` as a compact JWE to ``key``."""
    header = {"alg": key.alg, "enc": CONTENT_ENCRYPTION, "kid": key.kid, "cty": "json"}
    return jwe.encrypt_compact(
        header, text.encode(), _import(key.jwk), algorithms=[key.alg, CONTENT_ENCRYPTION]
    )


def outgoing(
    endpoint: WebhookEndpoint, message_id: str, timestamp: datetime, text: str
) -> tuple[bytes, dict[str, str]]:
    """The body to POST for the JSON ``text`` and its headers, signed over that very body.

    Raises ``VaultError`` when the endpoint's secrets cannot be decrypted.
    """
    key = receiver_key(endpoint)
    body = text if key is None else seal(key, text)
    headers = standard_webhooks.headers(message_id, timestamp, body, signing_secrets(endpoint))
    if key is not None:
        headers["Content-Type"] = CONTENT_TYPE
    return body.encode(), headers


def _import(value: dict[str, Any]) -> jwk.Key:
    return jwk.import_key(value)


def _from_pem(text: str) -> jwk.Key:
    # Any private PEM block (PKCS#1, SEC 1, PKCS#8, encrypted or not), wherever it is.
    if "PRIVATE KEY-----" in text:
        raise _private_refused()
    try:
        loaded = serialization.load_pem_public_key(text.encode())
    except (ValueError, TypeError) as exc:
        raise KeyRefused(_not_a_key()) from exc
    kinds = {
        rsa.RSAPublicKey: "RSA",
        ec.EllipticCurvePublicKey: "EC",
        x25519.X25519PublicKey: "OKP",
    }
    if isinstance(loaded, rsa.RSAPublicKey):
        _check_rsa_bits(loaded.key_size)
    for cls, kty in kinds.items():
        if isinstance(loaded, cls):
            return jwk.import_key(text, kty)  # type: ignore[call-overload,no-any-return]
    raise KeyRefused(
        _("this kind of key cannot encrypt payloads; give %(supported)s", supported=_supported())
    )


def _checked(key: jwk.Key) -> ReceiverKey:
    if key.is_private:
        raise _private_refused()
    kty = key.key_type
    if kty not in KEY_ALGORITHMS:
        raise KeyRefused(
            _(
                "this kind of key cannot encrypt payloads; give %(supported)s",
                supported=_supported(),
            )
        )
    if kty != "RSA":
        curve = key.as_dict()["crv"]
        if curve not in CURVES[kty]:
            allowed = " or ".join(CURVES[kty])
            raise KeyRefused(
                _(
                    "%(kty)s keys on %(curve)s are not accepted; use %(allowed)s",
                    kty=kty,
                    curve=curve,
                    allowed=allowed,
                )
            )
    public = key.as_dict(private=False)
    members = {name: public[name] for name in key.value_registry if name in public}
    members.update(kty=kty, kid=key.thumbprint(), use="enc", alg=KEY_ALGORITHMS[kty])
    return ReceiverKey(members)


def _modulus_bits(n: object) -> int:
    """The size of a JWK's RSA modulus, read before joserfc imports (and warns about) it."""
    if not isinstance(n, str):
        raise KeyRefused(_("this RSA JWK has no modulus (n)"))
    try:
        modulus = base64.urlsafe_b64decode(n + "=" * (-len(n) % 4))
    except ValueError as exc:
        raise KeyRefused(_("this RSA JWK's modulus (n) is not base64url")) from exc
    return int.from_bytes(modulus, "big").bit_length()


def _check_rsa_bits(bits: int) -> None:
    if bits < MIN_RSA_BITS:
        raise KeyRefused(
            _(
                "this RSA key has %(bits)s bits; use at least %(minimum)s",
                bits=bits,
                minimum=MIN_RSA_BITS,
            )
        )


def _rsa_bits(key: jwk.Key) -> int:
    raw = key.raw_value
    return raw.key_size if isinstance(raw, rsa.RSAPublicKey | rsa.RSAPrivateKey) else 0


def _private_refused() -> KeyRefused:
    return KeyRefused(
        _(
            "this is a private key: give the receiver's PUBLIC key only, and treat this "
            "private key as exposed (make a new key pair)"
        )
    )


def _supported() -> str:
    return _(
        "an RSA key of at least %(bits)s bits, an EC key on P-256 or P-384, or an X25519 key",
        bits=MIN_RSA_BITS,
    )


def _not_a_key() -> str:
    return _("this is neither a JSON Web Key nor a PEM public key")

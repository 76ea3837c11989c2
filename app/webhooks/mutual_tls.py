"""Mutual TLS for webhook delivery: a client certificate per endpoint, and a pinned CA.

The business supplies a PEM private key and certificate; they are checked (both parse,
the key belongs to the certificate, the certificate is valid now) and stored encrypted
with the token vault's keys. Only the certificate's subject, issuer, expiry and SHA-256
fingerprint are ever shown back, never the key.

Rotating adds the new certificate in front; the previous one stays usable until the
overlap ends (``WEBHOOK_SECRET_GRACE_SECONDS`` after the rotation, or its own expiry if
sooner). A delivery presents the newest certificate; only when the receiver refuses
it in the handshake is the previous one tried, so a receiver that has not yet trusted
the new certificate keeps getting events during the overlap.

A pinned CA (one or more PEM certificates: a CA, or the receiver's own certificate)
replaces the system trust store for that endpoint; the host name is still checked.

Every function that changes an endpoint adds to the session; the caller commits.
"""

from __future__ import annotations

import os
import secrets
import ssl
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from flask import current_app

from app import clock, vault
from app.extensions import db
from app.models import WebhookEndpoint
from app.webhooks.endpoints import EndpointRefused

MAX_PEM_LENGTH = 64_000
# TLS alerts a receiver sends when it does not accept the client certificate (or got none).
_CLIENT_CERT_ALERTS = (
    "CERTIFICATE_REQUIRED",
    "BAD_CERTIFICATE",
    "UNKNOWN_CA",
    "CERTIFICATE_UNKNOWN",
    "UNSUPPORTED_CERTIFICATE",
    "CERTIFICATE_EXPIRED",
    "CERTIFICATE_REVOKED",
    "HANDSHAKE_FAILURE",
)


@dataclass(frozen=True)
class CertificateInfo:
    """What may be shown of a certificate: never the key."""

    subject: str
    issuer: str
    not_after: datetime
    fingerprint_sha256: str
    # When a rotated-out client certificate stops being used (None: the newest one).
    overlap_ends: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "issuer": self.issuer,
            "not_after": self.not_after,
            "fingerprint_sha256": self.fingerprint_sha256,
            "overlap_ends": self.overlap_ends,
        }


@dataclass(frozen=True)
class TLS:
    """One way to connect: a client context, and what it holds (for explaining failures)."""

    context: ssl.SSLContext
    pinned: bool = False
    client_certificate: bool = False


def _load_certificates(pem: str, field: str) -> list[x509.Certificate]:
    if not isinstance(pem, str) or not pem.strip():
        raise EndpointRefused(field, "a PEM certificate is required")
    if len(pem) > MAX_PEM_LENGTH:
        raise EndpointRefused(field, f"must be at most {MAX_PEM_LENGTH} characters")
    try:
        certificates = x509.load_pem_x509_certificates(pem.encode())
    except ValueError as exc:
        raise EndpointRefused(
            field, "not a PEM certificate (expected -----BEGIN CERTIFICATE-----)"
        ) from exc
    return certificates


def _check_valid_now(certificate: x509.Certificate, field: str) -> None:
    now = clock.now()
    if certificate.not_valid_after_utc <= now:
        expired = certificate.not_valid_after_utc.strftime("%Y-%m-%d %H:%M UTC")
        raise EndpointRefused(field, f"the certificate expired on {expired}")
    if certificate.not_valid_before_utc > now:
        starts = certificate.not_valid_before_utc.strftime("%Y-%m-%d %H:%M UTC")
        raise EndpointRefused(field, f"the certificate is not valid before {starts}")


def info(certificate: x509.Certificate, overlap_ends: datetime | None = None) -> CertificateInfo:
    return CertificateInfo(
        subject=certificate.subject.rfc4514_string(),
        issuer=certificate.issuer.rfc4514_string(),
        not_after=certificate.not_valid_after_utc,
        fingerprint_sha256=certificate.fingerprint(hashes.SHA256()).hex(":").upper(),
        overlap_ends=overlap_ends,
    )


def check_client_certificate(certificate_pem: str, key_pem: str) -> CertificateInfo:
    """Check an uploaded key and certificate; raises :class:`EndpointRefused` saying why."""
    certificate = _load_certificates(certificate_pem, "client_certificate")[0]
    if not isinstance(key_pem, str) or not key_pem.strip():
        raise EndpointRefused("client_key", "a PEM private key is required")
    if len(key_pem) > MAX_PEM_LENGTH:
        raise EndpointRefused("client_key", f"must be at most {MAX_PEM_LENGTH} characters")
    try:
        key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    except TypeError as exc:
        raise EndpointRefused(
            "client_key", "the private key is encrypted: supply it without a passphrase"
        ) from exc
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise EndpointRefused(
            "client_key", "not a PEM private key (expected -----BEGIN PRIVATE KEY-----)"
        ) from exc
    if not isinstance(
        key,
        rsa.RSAPrivateKey
        | ec.EllipticCurvePrivateKey
        | ed25519.Ed25519PrivateKey
        | ed448.Ed448PrivateKey,
    ):
        raise EndpointRefused("client_key", "use an RSA, EC or Ed25519 private key")
    raw = serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(*raw) != certificate.public_key().public_bytes(*raw):
        raise EndpointRefused("client_key", "the private key does not match the certificate")
    _check_valid_now(certificate, "client_certificate")
    return info(certificate)


def check_pinned_ca(pem: str) -> list[CertificateInfo]:
    """Check a pinned CA bundle (one or more PEM certificates, each valid now)."""
    certificates = _load_certificates(pem, "pinned_ca")
    for certificate in certificates:
        _check_valid_now(certificate, "pinned_ca")
    return [info(certificate) for certificate in certificates]


def _stored(endpoint: WebhookEndpoint) -> list[dict[str, Any]]:
    if not endpoint.client_certificates_ciphertext:
        return []
    entries: list[dict[str, Any]] = vault.decrypt_json(endpoint.client_certificates_ciphertext)[
        "certificates"
    ]
    return entries


def _live(endpoint: WebhookEndpoint) -> list[dict[str, Any]]:
    """Client certificate entries still usable now, newest first."""
    now = clock.now()
    live = []
    for entry in _stored(endpoint):
        overlap_ends = _when(entry.get("overlap_ends"))
        certificate = x509.load_pem_x509_certificate(entry["certificate"].encode())
        if certificate.not_valid_after_utc > now and (overlap_ends is None or overlap_ends > now):
            live.append(entry)
    return live


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _store(endpoint: WebhookEndpoint, entries: list[dict[str, Any]]) -> None:
    endpoint.client_certificates_ciphertext = (
        vault.encrypt_json({"certificates": entries}) if entries else None
    )


def set_client_certificate(
    endpoint: WebhookEndpoint, certificate_pem: str, key_pem: str
) -> CertificateInfo:
    """Present this certificate from now on; the previous one stays usable for the overlap."""
    added = check_client_certificate(certificate_pem, key_pem)
    overlap = timedelta(seconds=current_app.config["WEBHOOK_SECRET_GRACE_SECONDS"])
    overlap_ends = clock.now() + overlap
    kept = []
    for entry in _live(endpoint):
        ends = _when(entry.get("overlap_ends"))
        ends = overlap_ends if ends is None or ends > overlap_ends else ends
        kept.append({**entry, "overlap_ends": ends.isoformat()})
    fresh = {"certificate": certificate_pem.strip(), "key": key_pem.strip(), "overlap_ends": None}
    _store(endpoint, [fresh, *kept])
    db.session.flush()
    return added


def remove_client_certificate_now(endpoint: WebhookEndpoint) -> int:
    """Stop presenting any client certificate now; returns how many were removed."""
    removed = len(_stored(endpoint))
    _store(endpoint, [])
    db.session.flush()
    return removed


def set_pinned_ca(endpoint: WebhookEndpoint, pem: str | None) -> list[CertificateInfo]:
    """Trust only this CA bundle for the endpoint; None goes back to the system trust store."""
    pinned = check_pinned_ca(pem) if pem is not None else []
    endpoint.pinned_ca_pem = pem.strip() if pem is not None else None
    db.session.flush()
    return pinned


def describe(endpoint: WebhookEndpoint) -> dict[str, Any]:
    """What may be shown of an endpoint's TLS settings: certificates' details, no keys."""
    try:
        live = _live(endpoint)
    except vault.VaultError:  # a key went before re-encryption: deliveries say so
        live = []
    client = [
        info(
            x509.load_pem_x509_certificate(entry["certificate"].encode()),
            _when(entry.get("overlap_ends")),
        )
        for entry in live
    ]
    pinned = (
        [info(c) for c in x509.load_pem_x509_certificates(endpoint.pinned_ca_pem.encode())]
        if endpoint.pinned_ca_pem
        else []
    )
    return {"client_certificates": client, "pinned_ca": pinned}


def ssl_context(pinned_ca: str | None, pair: tuple[str, str] | None) -> TLS:
    """A client TLS context: the pinned CA (or the system's), and a client certificate."""
    context = ssl.create_default_context(cadata=pinned_ca)
    if pinned_ca:
        # The pin may be the receiver's own certificate rather than a CA.
        context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    if pair is not None:
        _load_pair(context, *pair)
    return TLS(context=context, pinned=bool(pinned_ca), client_certificate=pair is not None)


def _load_pair(context: ssl.SSLContext, certificate_pem: str, key_pem: str) -> None:
    """Python's ssl module loads a certificate chain only from a file (CPython issue
    gh-60691), so the pair goes to a private temporary file, the key encrypted there with
    a one-time passphrase, and the file is deleted at once."""
    passphrase = secrets.token_bytes(32)
    key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    encrypted_key = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase),
    )
    descriptor, path = tempfile.mkstemp(suffix=".pem")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(certificate_pem.encode() + b"\n" + encrypted_key)
        context.load_cert_chain(path, password=passphrase)
    finally:
        os.unlink(path)


def contexts(endpoint: WebhookEndpoint) -> tuple[TLS, ...]:
    """The TLS settings to try for a delivery, in order (empty: the defaults).

    Decrypts the endpoint's client certificates (raises ``VaultError`` if it cannot).
    """
    pairs = [(entry["certificate"], entry["key"]) for entry in _live(endpoint)]
    if not pairs and not endpoint.pinned_ca_pem:
        return ()
    chosen: list[tuple[str, str] | None] = list(pairs) or [None]
    return tuple(ssl_context(endpoint.pinned_ca_pem, pair) for pair in chosen)


def explain(exc: BaseException, tls: TLS | None) -> tuple[str, bool]:
    """A TLS failure in words, and whether the receiver refused our client certificate."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        detail = exc.verify_message or "not trusted"
        if tls is not None and tls.pinned:
            return (
                f"TLS handshake failed: the receiver's certificate does not match the "
                f"pinned CA ({detail})",
                False,
            )
        return f"TLS handshake failed: the receiver's certificate is not trusted ({detail})", False
    reason = str(getattr(exc, "reason", "") or "").upper()
    text = str(exc).upper()
    if any(alert in reason or alert in text for alert in _CLIENT_CERT_ALERTS):
        alert = (reason or "handshake failure").lower().replace("_", " ")
        if tls is not None and tls.client_certificate:
            return (
                "TLS handshake failed: the receiver asked for a client certificate and "
                f"refused ours ({alert})",
                True,
            )
        return (
            "TLS handshake failed: the receiver requires a client certificate and none is "
            f"set for this endpoint ({alert})",
            False,
        )
    if isinstance(exc, ssl.SSLEOFError):
        # TLS 1.3: a receiver that refuses the certificate may hang up before its alert arrives.
        presented = tls is not None and tls.client_certificate
        guess = (
            "it may have refused our client certificate"
            if presented
            else "it may require a client certificate, and none is set for this endpoint"
        )
        return (
            f"TLS handshake failed: the receiver closed the connection during the handshake "
            f"({guess})",
            presented,
        )
    return "TLS error: the connection could not be secured", False


def configure(
    endpoint: WebhookEndpoint,
    *,
    client_certificate: str | None = None,
    client_key: str | None = None,
    remove_client_certificate: bool = False,
    pinned_ca: str | None = None,
    clear_pinned_ca: bool = False,
) -> dict[str, Any]:
    """Apply what is given (the API's and the console's fields); returns :func:`describe`.

    A certificate and its key come together; raises ``EndpointRefused`` saying which
    field is wrong, before anything changes.
    """
    if (client_certificate is None) != (client_key is None):
        missing = "client_key" if client_key is None else "client_certificate"
        raise EndpointRefused(missing, "a client certificate and its key are given together")
    if client_certificate is not None and client_key is not None:
        check_client_certificate(client_certificate, client_key)
    if pinned_ca is not None:
        check_pinned_ca(pinned_ca)
    if remove_client_certificate:
        remove_client_certificate_now(endpoint)
    if client_certificate is not None and client_key is not None:
        set_client_certificate(endpoint, client_certificate, client_key)
    if clear_pinned_ca or pinned_ca is not None:
        set_pinned_ca(endpoint, None if clear_pinned_ca else pinned_ca)
    return describe(endpoint)

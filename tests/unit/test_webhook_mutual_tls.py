"""Mutual TLS material: what is accepted as a client certificate or a pinned CA, what is
shown back, and how a failed handshake is put into words."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import serialization

from app.webhooks.endpoints import EndpointRefused
from app.webhooks.mutual_tls import (
    check_client_certificate,
    check_pinned_ca,
    explain,
    ssl_context,
)
from tests.integration.tls_receiver import issue

CA = issue("Test CA", ca=True)
CLIENT = issue("onramp-client", CA)
OTHER = issue("someone-else", CA)


def test_a_matching_pair_is_described_without_its_key() -> None:
    shown = check_client_certificate(CLIENT.certificate_pem, CLIENT.key_pem)
    assert (shown.subject, shown.issuer) == ("CN=onramp-client", "CN=Test CA")
    assert shown.not_after == CLIENT.certificate.not_valid_after_utc
    assert len(shown.fingerprint_sha256.split(":")) == 32
    assert "KEY" not in repr(shown)


def _encrypted_key() -> str:
    return CLIENT.key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret"),
    ).decode()


@pytest.mark.parametrize(
    ("certificate", "key", "field", "words"),
    [
        ("", CLIENT.key_pem, "client_certificate", "a PEM certificate is required"),
        ("hello", CLIENT.key_pem, "client_certificate", "not a PEM certificate"),
        (CLIENT.certificate_pem, "", "client_key", "a PEM private key is required"),
        (CLIENT.certificate_pem, "-----BEGIN PRIVATE KEY-----\n", "client_key", "not a PEM"),
        (CLIENT.certificate_pem, OTHER.key_pem, "client_key", "does not match the certificate"),
        (CLIENT.certificate_pem, None, "client_key", "supply it without a passphrase"),
    ],
)
def test_bad_pem_is_refused_with_a_clear_message(
    certificate: str, key: str | None, field: str, words: str
) -> None:
    with pytest.raises(EndpointRefused) as refused:
        check_client_certificate(certificate, key if key is not None else _encrypted_key())
    assert refused.value.field == field
    assert words in refused.value.message


def test_an_expired_certificate_is_refused() -> None:
    expired = issue("old", CA, not_after=datetime.now(UTC) - timedelta(minutes=1))
    with pytest.raises(EndpointRefused, match="the certificate expired on"):
        check_client_certificate(expired.certificate_pem, expired.key_pem)


def test_a_pinned_bundle_lists_each_certificate() -> None:
    other_ca = issue("Other CA", ca=True)
    pinned = check_pinned_ca(CA.certificate_pem + other_ca.certificate_pem)
    assert [c.subject for c in pinned] == ["CN=Test CA", "CN=Other CA"]


def test_a_handshake_refusal_of_our_certificate_is_told_apart() -> None:
    alert = ssl.SSLError(1, "[SSL: SSLV3_ALERT_BAD_CERTIFICATE] sslv3 alert bad certificate")
    alert.reason = "SSLV3_ALERT_BAD_CERTIFICATE"
    with_certificate = ssl_context(None, (CLIENT.certificate_pem, CLIENT.key_pem))
    without = ssl_context(CA.certificate_pem, None)

    said, refused = explain(alert, with_certificate)
    assert said.startswith("TLS handshake failed: the receiver asked for a client certificate")
    assert "refused ours (sslv3 alert bad certificate)" in said
    assert refused

    said, refused = explain(alert, without)
    assert "none is set for this endpoint" in said
    assert not refused


def test_a_receiver_certificate_outside_the_pin_is_named_as_such() -> None:
    failure = ssl.SSLCertVerificationError(1, "certificate verify failed")
    failure.verify_message = "unable to get local issuer certificate"
    said, refused = explain(failure, ssl_context(CA.certificate_pem, None))
    assert said == (
        "TLS handshake failed: the receiver's certificate does not match the pinned CA "
        "(unable to get local issuer certificate)"
    )
    assert not refused


def test_a_receiver_that_hangs_up_mid_handshake_is_explained() -> None:
    """TLS 1.3: a receiver may close the connection before its refusal arrives."""
    hung_up = ssl.SSLEOFError(8, "EOF occurred in violation of protocol")
    with_certificate = ssl_context(None, (CLIENT.certificate_pem, CLIENT.key_pem))

    said, refused = explain(hung_up, with_certificate)
    assert said == (
        "TLS handshake failed: the receiver closed the connection during the handshake "
        "(it may have refused our client certificate)"
    )
    assert refused  # so the previous certificate, if any, is tried

    said, refused = explain(hung_up, ssl_context(None, None))
    assert "none is set for this endpoint" in said
    assert not refused

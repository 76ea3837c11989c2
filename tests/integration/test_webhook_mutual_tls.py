"""Mutual TLS: deliveries to an HTTPS receiver that requires a client certificate, with
the right one, without one, after a rotation, and against a pinned CA."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import WebhookDelivery, WebhookEndpoint
from app.webhooks import endpoints, mutual_tls
from app.webhooks.delivery import deliver_due
from app.webhooks.outbox import emit
from tests.integration.tls_receiver import Issued, TLSReceiver, issue


@dataclass(frozen=True)
class Certificates:
    server_ca: Issued
    client_ca: Issued
    first: Issued
    second: Issued


@pytest.fixture(scope="module")
def certificates() -> Certificates:
    server_ca = issue("Receiver CA", ca=True)
    client_ca = issue("Clients CA", ca=True)
    return Certificates(
        server_ca=server_ca,
        client_ca=client_ca,
        first=issue("onramp-first", client_ca),
        second=issue("onramp-second", client_ca),
    )


@pytest.fixture
def receiver(tmp_path: Path, certificates: Certificates) -> Iterator[TLSReceiver]:
    server = issue("127.0.0.1", certificates.server_ca, server_ip="127.0.0.1")
    receiver = TLSReceiver(tmp_path, server, certificates.client_ca)
    yield receiver
    receiver.close()


def _register(app: Flask, url: str, pinned_ca: str | None, client: Issued | None = None) -> str:
    with app.app_context():
        endpoint, _ = endpoints.add_endpoint(url, [])
        if pinned_ca is not None:
            mutual_tls.set_pinned_ca(endpoint, pinned_ca)
        if client is not None:
            mutual_tls.set_client_certificate(endpoint, client.certificate_pem, client.key_pem)
        db.session.commit()
        return endpoint.public_id


def _deliver_one(app: Flask) -> WebhookDelivery:
    with app.app_context():
        emit("journey.started", None, run_id="run-1")
        db.session.commit()
        deliver_due("test-worker")
        delivery = db.session.scalars(
            select(WebhookDelivery).order_by(WebhookDelivery.id.desc())
        ).first()
        assert delivery is not None
        _ = delivery.attempts_made
        db.session.expunge_all()
        return delivery


def test_the_right_client_certificate_is_delivered(
    app: Flask, receiver: TLSReceiver, certificates: Certificates
) -> None:
    _register(app, receiver.url, certificates.server_ca.certificate_pem, certificates.first)

    delivery = _deliver_one(app)

    assert delivery.status == "succeeded"
    assert delivery.last_status_code == 200
    assert receiver.seen == ["onramp-first"]


def test_without_a_client_certificate_the_handshake_fails_and_is_retried(
    app: Flask, receiver: TLSReceiver, certificates: Certificates
) -> None:
    _register(app, receiver.url, certificates.server_ca.certificate_pem)

    delivery = _deliver_one(app)

    assert delivery.status == "pending"
    assert delivery.attempts == 1
    error = delivery.attempts_made[0].error or ""
    assert error.startswith("TLS handshake failed: the receiver requires a client certificate")
    assert receiver.seen == []


def test_a_certificate_the_receiver_does_not_trust_is_refused_clearly(
    app: Flask, receiver: TLSReceiver, certificates: Certificates
) -> None:
    stranger = issue("onramp-stranger", issue("Another CA", ca=True))
    _register(app, receiver.url, certificates.server_ca.certificate_pem, stranger)

    delivery = _deliver_one(app)

    assert delivery.status == "pending"
    error = delivery.attempts_made[0].error or ""
    assert error.startswith(
        "TLS handshake failed: the receiver asked for a client certificate and refused ours"
    )


def test_after_rotation_the_new_certificate_is_presented(
    app: Flask, receiver: TLSReceiver, certificates: Certificates
) -> None:
    public_id = _register(
        app, receiver.url, certificates.server_ca.certificate_pem, certificates.first
    )
    assert _deliver_one(app).status == "succeeded"

    with app.app_context():
        endpoint = endpoints.get_endpoint(public_id)
        assert endpoint is not None
        second = certificates.second
        mutual_tls.set_client_certificate(endpoint, second.certificate_pem, second.key_pem)
        db.session.commit()
        shown = mutual_tls.describe(endpoint)["client_certificates"]
    assert [c.subject for c in shown] == ["CN=onramp-second", "CN=onramp-first"]
    assert shown[0].overlap_ends is None and shown[1].overlap_ends is not None

    assert _deliver_one(app).status == "succeeded"
    assert receiver.seen == ["onramp-first", "onramp-second"]


def test_during_the_overlap_the_previous_certificate_is_used_when_the_new_is_refused(
    app: Flask, receiver: TLSReceiver, certificates: Certificates
) -> None:
    """The receiver does not trust the new certificate yet: the previous one still works."""
    public_id = _register(
        app, receiver.url, certificates.server_ca.certificate_pem, certificates.first
    )
    untrusted = issue("onramp-not-yet-trusted", issue("Next CA", ca=True))
    with app.app_context():
        endpoint = endpoints.get_endpoint(public_id)
        assert endpoint is not None
        mutual_tls.set_client_certificate(endpoint, untrusted.certificate_pem, untrusted.key_pem)
        db.session.commit()

    assert _deliver_one(app).status == "succeeded"
    assert receiver.seen == ["onramp-first"]

    app.config["WEBHOOK_SECRET_GRACE_SECONDS"] = 0
    with app.app_context():
        endpoint = endpoints.get_endpoint(public_id)
        assert endpoint is not None
        mutual_tls.set_client_certificate(endpoint, untrusted.certificate_pem, untrusted.key_pem)
        db.session.commit()
    assert _deliver_one(app).status == "pending"


def test_a_receiver_certificate_from_another_ca_fails_the_pin(
    app: Flask, receiver: TLSReceiver, certificates: Certificates
) -> None:
    other_ca = issue("Not the receiver's CA", ca=True)
    _register(app, receiver.url, other_ca.certificate_pem, certificates.first)

    delivery = _deliver_one(app)

    assert delivery.status == "pending"
    error = delivery.attempts_made[0].error or ""
    assert error.startswith(
        "TLS handshake failed: the receiver's certificate does not match the pinned CA"
    )
    assert receiver.seen == []


def test_the_key_is_stored_encrypted(app: Flask, certificates: Certificates) -> None:
    public_id = _register(app, "https://127.0.0.1:9/hooks", None, certificates.first)
    with app.app_context():
        stored = db.session.scalars(
            select(WebhookEndpoint.client_certificates_ciphertext).where(
                WebhookEndpoint.public_id == public_id
            )
        ).one()
    assert stored is not None
    assert "PRIVATE KEY" not in stored and "CERTIFICATE" not in stored

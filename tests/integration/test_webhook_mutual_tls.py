"""Mutual TLS: deliveries to an HTTPS receiver that requires a client certificate, with
the right one, without one, after a rotation, and against a pinned CA."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import WebhookDelivery, WebhookEndpoint
from app.webhooks import endpoints, mutual_tls
from app.webhooks.delivery import deliver_due
from app.webhooks.outbox import emit
from tests.admin import signed_in_as
from tests.integration.api_helpers import Api, create_key, fields, problem
from tests.integration.tls_receiver import Issued, TLSReceiver, issue
from tests.pages import text_of

ENDPOINTS = "/api/v1/webhook-endpoints"


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


# Setting it through the API and `flask webhooks`


@pytest.fixture
def api(app: Flask) -> Api:
    return Api(app.test_client(), create_key(app, "read", "write"))


def test_the_api_sets_rotates_and_removes_mutual_tls(api: Api, certificates: Certificates) -> None:
    first, second = certificates.first, certificates.second
    created = api.post(
        ENDPOINTS,
        json={
            "url": "https://127.0.0.1:9/hooks",
            "client_certificate": first.certificate_pem,
            "client_key": first.key_pem,
            "pinned_ca": certificates.server_ca.certificate_pem,
        },
    )
    assert created.status_code == 201
    body = created.get_json()
    assert [c["subject"] for c in body["tls"]["client_certificates"]] == ["CN=onramp-first"]
    assert [c["subject"] for c in body["tls"]["pinned_ca"]] == ["CN=Receiver CA"]
    assert "PRIVATE KEY" not in created.get_data(as_text=True)

    path = f"{ENDPOINTS}/{body['id']}/tls"
    rotated = api.call(
        "PATCH",
        path,
        json={"client_certificate": second.certificate_pem, "client_key": second.key_pem},
    )
    assert rotated.status_code == 200
    shown = rotated.get_json()["tls"]
    assert [c["subject"] for c in shown["client_certificates"]] == [
        "CN=onramp-second",
        "CN=onramp-first",
    ]
    assert shown["pinned_ca"]  # left as it was

    cleared = api.call(
        "PATCH", path, json={"remove_client_certificate": True, "clear_pinned_ca": True}
    )
    assert cleared.get_json()["tls"] == {"client_certificates": [], "pinned_ca": []}


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"client_certificate": "not a certificate"}, "client_certificate", "not a PEM"),
        ({"client_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n"}, "client_key", "not a PEM"),
        ({"client_key": None}, "client_key", "given together"),
        ({"other_key": True}, "client_key", "does not match the certificate"),
        ({"expired": True}, "client_certificate", "the certificate expired on"),
        ({"pinned_ca": "-----BEGIN CERTIFICATE-----\nnope\n"}, "pinned_ca", "not a PEM"),
    ],
)
def test_the_api_refuses_bad_pem_with_a_problem(
    api: Api, certificates: Certificates, change: dict[str, object], field: str, words: str
) -> None:
    endpoint = api.post(ENDPOINTS, json={"url": "https://127.0.0.1:9/hooks"}).get_json()
    pair = certificates.first
    if change.pop("other_key", False):
        change["client_key"] = certificates.second.key_pem
    if change.pop("expired", False):
        pair = issue(
            "old", certificates.client_ca, not_after=datetime.now(UTC) - timedelta(hours=1)
        )
    request = {"client_certificate": pair.certificate_pem, "client_key": pair.key_pem, **change}
    if "pinned_ca" in change:
        request = {"pinned_ca": change["pinned_ca"]}
    if "client_key" in request and request["client_key"] is None:
        del request["client_key"]

    response = api.call("PATCH", f"{ENDPOINTS}/{endpoint['id']}/tls", json=request)

    body = problem(response, 422, "validation-error")
    assert fields(body) == [field]
    assert words in body["errors"][0]["message"]


def test_the_cli_sets_rotates_and_removes_the_client_certificate(
    app: Flask, tmp_path: Path, certificates: Certificates
) -> None:
    public_id = _register(app, "https://127.0.0.1:9/hooks", None)
    files = {}
    for name, text in {
        "first.crt": certificates.first.certificate_pem,
        "first.key": certificates.first.key_pem,
        "ca.crt": certificates.server_ca.certificate_pem,
        "bad.crt": "hello",
    }.items():
        files[name] = tmp_path / name
        files[name].write_text(text)
    cli = app.test_cli_runner()

    added = cli.invoke(
        args=[
            "webhooks",
            "client-cert",
            public_id,
            "--cert",
            str(files["first.crt"]),
            "--key",
            str(files["first.key"]),
        ]
    )
    assert added.exit_code == 0, added.output
    assert "CN=onramp-first (issued by CN=Clients CA)" in added.output
    assert "PRIVATE KEY" not in added.output

    pinned = cli.invoke(args=["webhooks", "pin-ca", public_id, "--ca", str(files["ca.crt"])])
    assert "CN=Receiver CA" in pinned.output

    refused = cli.invoke(args=["webhooks", "pin-ca", public_id, "--ca", str(files["bad.crt"])])
    assert refused.exit_code == 1
    assert "pinned_ca: not a PEM certificate" in refused.output

    removed = cli.invoke(args=["webhooks", "client-cert", public_id, "--remove"])
    cleared = cli.invoke(args=["webhooks", "pin-ca", public_id, "--clear"])
    assert "1 client certificates removed." in removed.output
    assert "The system's CAs are trusted again." in cleared.output
    with app.app_context():
        endpoint = endpoints.get_endpoint(public_id)
        assert endpoint is not None
        assert mutual_tls.describe(endpoint) == {"client_certificates": [], "pinned_ca": []}


# The console


def test_the_console_uploads_rotates_and_removes_a_client_certificate(
    app: Flask, certificates: Certificates
) -> None:
    public_id = _register(app, "https://127.0.0.1:9/hooks", None)
    admin = signed_in_as(app, "admin")
    page = f"/admin/webhooks/endpoints/{public_id}/tls"
    assert "No client certificate" in text_of(admin.get(page))
    assert page in admin.get("/admin/webhooks").text

    first = certificates.first
    uploaded = admin.post(
        f"{page}/client-certificate",
        data={
            "certificate-certificate_file": (io.BytesIO(first.certificate_pem.encode()), "c.pem"),
            "certificate-key": first.key_pem,
        },
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 303
    shown = text_of(admin.get(page))
    assert "CN=onramp-first" in shown and "CN=Clients CA" in shown
    assert first.key_pem.splitlines()[1] not in admin.get(page).text

    second = certificates.second
    admin.post(
        f"{page}/client-certificate",
        data={"certificate-certificate": second.certificate_pem, "certificate-key": second.key_pem},
    )
    shown = text_of(admin.get(page))
    assert shown.index("CN=onramp-second") < shown.index("CN=onramp-first")
    assert "Previous certificate" in shown

    admin.post(f"{page}/client-certificate/remove")
    assert "No client certificate" in text_of(admin.get(page))


def test_the_console_pins_a_ca_and_explains_bad_pem(app: Flask, certificates: Certificates) -> None:
    public_id = _register(app, "https://127.0.0.1:9/hooks", None)
    admin = signed_in_as(app, "admin")
    page = f"/admin/webhooks/endpoints/{public_id}/tls"

    refused = admin.post(f"{page}/pinned-ca", data={"ca-ca": "not a certificate"})
    assert refused.status_code == 422
    assert "not a PEM certificate" in text_of(refused)
    assert 'aria-invalid="true"' in refused.text

    mismatched = admin.post(
        f"{page}/client-certificate",
        data={
            "certificate-certificate": certificates.first.certificate_pem,
            "certificate-key": certificates.second.key_pem,
        },
    )
    assert mismatched.status_code == 422
    assert "the private key does not match the certificate" in text_of(mismatched)

    admin.post(f"{page}/pinned-ca", data={"ca-ca": certificates.server_ca.certificate_pem})
    assert "CN=Receiver CA" in text_of(admin.get(page))
    admin.post(f"{page}/pinned-ca/clear")
    assert "No pinned CA" in text_of(admin.get(page))


def test_a_viewer_sees_the_page_but_cannot_change_it(
    app: Flask, certificates: Certificates
) -> None:
    public_id = _register(app, "https://127.0.0.1:9/hooks", None, certificates.first)
    viewer = signed_in_as(app, "viewer")
    page = f"/admin/webhooks/endpoints/{public_id}/tls"
    shown = viewer.get(page)
    assert "CN=onramp-first" in text_of(shown)
    assert "Present this certificate" not in shown.text
    assert viewer.post(f"{page}/client-certificate/remove").status_code == 403


def test_the_console_forms_need_the_csrf_token(app: Flask, certificates: Certificates) -> None:
    public_id = _register(app, "https://127.0.0.1:9/hooks", None, certificates.first)
    admin = signed_in_as(app, "admin")
    app.config["WTF_CSRF_ENABLED"] = True
    page = f"/admin/webhooks/endpoints/{public_id}/tls"
    assert 'name="certificate-csrf_token"' in admin.get(page).text

    refused = admin.post(f"{page}/client-certificate/remove")

    assert refused.status_code == 400
    with app.app_context():
        endpoint = endpoints.get_endpoint(public_id)
        assert endpoint is not None
        assert mutual_tls.describe(endpoint)["client_certificates"]

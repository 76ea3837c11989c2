"""Registering webhook endpoints, in the service and with `flask webhooks ...`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from app import create_app
from app.extensions import db
from app.models import AuditEntry, WebhookDelivery, WebhookEndpoint
from app.webhooks import endpoints
from app.webhooks.endpoints import EndpointRefused, add_endpoint
from app.webhooks.outbox import EVENT_TYPES, emit
from tests.conftest import reset_database, test_settings
from tests.integration.webhook_receiver import Receiver, Reply


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def production(tmp_path: Path) -> Iterator[Flask]:
    app = create_app(test_settings(tmp_path, ENV_NAME="production"))
    reset_database(app)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_an_endpoint_gets_a_secret_shown_once_and_stored_encrypted(app: Flask) -> None:
    with app.app_context():
        endpoint, secret = add_endpoint(
            "https://93.184.215.14/hooks", ["consent.granted", "consent.granted"], "CRM"
        )
        db.session.commit()
        assert secret.startswith("whsec_")
        assert secret not in endpoint.secrets_ciphertext
        assert endpoints.signing_secrets(endpoint) == [secret]
        assert endpoint.event_types == ["consent.granted"]
        assert endpoint.description == "CRM"
        assert endpoints.list_endpoints() == [endpoint]


@pytest.mark.parametrize(
    ("url", "event_types", "field", "message"),
    [
        ("https://10.0.0.7/hooks", [], "url", "private addresses are not allowed"),
        ("https://169.254.169.254/", [], "url", "link-local"),
        ("", [], "url", "a URL is required"),
        ("ftp://93.184.215.14/", [], "url", "https://"),
        ("https://93.184.215.14/", ["consent.granted", "order.paid"], "event_types", "order.paid"),
        ("https://93.184.215.14/", ["webhook.test"], "event_types", "unknown event type"),
    ],
)
def test_a_refused_endpoint_names_the_field(
    app: Flask, url: str, event_types: list[str], field: str, message: str
) -> None:
    with app.app_context():
        with pytest.raises(EndpointRefused) as refused:
            add_endpoint(url, event_types)
        assert refused.value.field == field
        assert message in refused.value.message
        assert db.session.scalars(select(WebhookEndpoint)).all() == []


def test_loopback_receivers_are_allowed_in_development_only(app: Flask, production: Flask) -> None:
    with app.app_context():
        add_endpoint("http://127.0.0.1:8080/hooks", [])
        app.config["WEBHOOK_ALLOW_LOOPBACK"] = False
        with pytest.raises(EndpointRefused, match="loopback"):
            add_endpoint("http://localhost:8080/hooks", [])
    with production.app_context():
        with pytest.raises(EndpointRefused, match="https"):
            add_endpoint("http://93.184.215.14/hooks", [])
        with pytest.raises(EndpointRefused, match="loopback"):
            add_endpoint("https://127.0.0.1/hooks", [])
        production.config["WEBHOOK_ALLOWED_HOSTS"] = "hooks.internal, 127.0.0.1"
        add_endpoint("https://127.0.0.1/hooks", [])
        add_endpoint("https://hooks.internal/hooks", [])


def test_removing_an_endpoint_cancels_its_queue_and_keeps_its_history(app: Flask) -> None:
    with app.app_context():
        endpoint, _ = add_endpoint("https://93.184.215.14/hooks", [])
        emit("journey.started", None, run_id="r1")
        emit("journey.completed", None, run_id="r1")
        db.session.commit()

        assert endpoints.remove_endpoint(endpoint) == 2
        db.session.commit()

        assert endpoint.status == "disabled"
        assert endpoint.disabled_reason == "removed"
        statuses = db.session.scalars(select(WebhookDelivery.status)).all()
        assert statuses == ["cancelled", "cancelled"]
        assert endpoints.list_endpoints() == [endpoint]
        emit("journey.started", None, run_id="r2")
        db.session.commit()
        assert endpoints.pending_count(endpoint) == 0

        endpoints.enable_endpoint(endpoint)
        emit("journey.started", None, run_id="r3")
        db.session.commit()
        assert endpoints.pending_count(endpoint) == 1


def test_cli_add_prints_the_id_and_secret_and_list_never_shows_secrets(app: Flask) -> None:
    runner = app.test_cli_runner()
    added = runner.invoke(
        args=[
            "webhooks", "add", "--url", "https://93.184.215.14/hooks",
            "--event", "consent.granted", "--event", "consent.withdrawn",
        ]
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    endpoint_id = re.search(r"id: (\S+)", added.stdout).group(1)  # type: ignore[union-attr]
    secret = re.search(r"secret: (whsec_\S+)", added.stdout).group(1)  # type: ignore[union-attr]

    with app.app_context():
        emit("consent.granted", None, consent_id="c1")
        db.session.commit()
    listed = runner.invoke(args=["webhooks", "list"])
    assert listed.exit_code == 0
    assert endpoint_id in listed.output
    assert "https://93.184.215.14/hooks" in listed.output
    assert "events=consent.granted,consent.withdrawn" in listed.output
    assert "pending=1" in listed.output
    assert secret not in listed.output
    assert "whsec_" not in listed.output


def test_cli_add_refuses_a_private_address_and_an_unknown_event(app: Flask) -> None:
    runner = app.test_cli_runner()
    private = runner.invoke(args=["webhooks", "add", "--url", "https://192.168.0.4/"])
    assert private.exit_code == 2
    assert "private addresses are not allowed" in private.output
    unknown = runner.invoke(
        args=["webhooks", "add", "--url", "https://93.184.215.14/", "--event", "nope"]
    )
    assert unknown.exit_code == 2
    assert "nope" in unknown.output
    with app.app_context():
        assert db.session.scalars(select(WebhookEndpoint)).all() == []


def test_cli_rotate_remove_and_unknown_ids(app: Flask) -> None:
    runner = app.test_cli_runner()
    with app.app_context():
        endpoint, first = add_endpoint("https://93.184.215.14/hooks", [])
        db.session.commit()
        endpoint_id = endpoint.public_id

    rotated = runner.invoke(args=["webhooks", "rotate-secret", endpoint_id])
    assert rotated.exit_code == 0
    second = re.search(r"secret: (whsec_\S+)", rotated.stdout).group(1)  # type: ignore[union-attr]
    with app.app_context():
        endpoint = endpoints.get_endpoint(endpoint_id)  # type: ignore[assignment]
        assert endpoints.signing_secrets(endpoint) == [second, first]
    expired = runner.invoke(args=["webhooks", "rotate-secret", endpoint_id, "--expire-old"])
    assert expired.exit_code == 0
    with app.app_context():
        endpoint = endpoints.get_endpoint(endpoint_id)  # type: ignore[assignment]
        assert endpoints.signing_secrets(endpoint) == [second]

    removed = runner.invoke(args=["webhooks", "remove", endpoint_id])
    assert removed.exit_code == 0
    assert "disabled (removed)" in runner.invoke(args=["webhooks", "list"]).output

    for command in ("remove", "rotate-secret", "test", "enable"):
        missing = runner.invoke(args=["webhooks", command, "no-such-id"])
        assert missing.exit_code == 2
        assert "no webhook endpoint with id 'no-such-id'" in missing.output
    replay = runner.invoke(args=["webhooks", "replay", "no-such-delivery"])
    assert replay.exit_code == 2
    assert "no delivery" in replay.output


def test_cli_test_sends_a_signed_ping(app: Flask, receiver: Receiver) -> None:
    runner = app.test_cli_runner()
    with app.app_context():
        endpoint, secret = add_endpoint(receiver.url, ["consent.granted"])
        db.session.commit()
        endpoint_id = endpoint.public_id

    result = runner.invoke(args=["webhooks", "test", endpoint_id])

    assert result.exit_code == 0, result.output
    assert "OK: HTTP 200" in result.output
    [ping] = receiver.requests
    body = ping.verify(secret)
    assert body["type"] == "webhook.test"
    assert body["data"] == {"endpoint_id": endpoint_id}
    with app.app_context():  # a ping is not queued; its answer is kept in the audit log
        assert db.session.scalars(select(WebhookDelivery)).all() == []
        entry = db.session.scalars(select(AuditEntry)).one()
        assert (entry.action, entry.subject_id) == ("webhook.test", endpoint_id)
        assert entry.after == {"status_code": 200, "accepted": True, "error": None}


def test_cli_test_reports_a_refused_ping(app: Flask, receiver: Receiver) -> None:
    with app.app_context():
        endpoint, _ = add_endpoint(receiver.url, [])
        db.session.commit()
        endpoint_id = endpoint.public_id
    receiver.answer(Reply(401))
    result = app.test_cli_runner().invoke(args=["webhooks", "test", endpoint_id])
    assert result.exit_code == 1
    assert "the ping was not accepted: HTTP 401" in result.output
    with app.app_context():
        entry = db.session.scalars(select(AuditEntry)).one()
        assert entry.after is not None
        assert (entry.after["status_code"], entry.after["accepted"]) == (401, False)


def test_cli_deliver_once_and_replay(app: Flask, receiver: Receiver) -> None:
    runner = app.test_cli_runner()
    with app.app_context():
        add_endpoint(receiver.url, [])
        emit("journey.started", None, run_id="r1")
        db.session.commit()

    delivered = runner.invoke(args=["webhooks", "deliver", "--once", "--worker-id", "cli"])
    assert delivered.exit_code == 0, delivered.output
    assert "1 delivery attempts made" in delivered.output
    [first] = receiver.requests

    replayed = runner.invoke(args=["webhooks", "replay", first.webhook_id])
    assert replayed.exit_code == 0
    assert "Queued" in replayed.output
    runner.invoke(args=["webhooks", "deliver", "--once"])
    assert [r.webhook_id for r in receiver.requests] == [first.webhook_id] * 2


def test_every_event_type_can_be_subscribed_to() -> None:
    assert "webhook.test" not in EVENT_TYPES
    assert {t.split(".")[0] for t in EVENT_TYPES} == {
        "consent",
        "connection",
        "delegation",
        "journey",
        "upload",
    }


def test_secrets_survive_an_encryption_key_rotation(app: Flask) -> None:
    from cryptography.fernet import Fernet

    old_key = app.config["TOKEN_ENCRYPTION_KEY"]
    new_key = Fernet.generate_key().decode()
    with app.app_context():
        endpoint, secret = add_endpoint("https://93.184.215.14/hooks", [])
        db.session.commit()
        app.config["TOKEN_ENCRYPTION_KEY"] = f"{new_key},{old_key}"
        assert endpoints.rotate_encryption_key() == 1
        db.session.commit()
        app.config["TOKEN_ENCRYPTION_KEY"] = new_key
        assert endpoints.signing_secrets(endpoint) == [secret]


def test_a_secret_no_key_can_open_is_a_recorded_failed_attempt(
    app: Flask, receiver: Receiver
) -> None:
    from cryptography.fernet import Fernet

    from app.webhooks.delivery import deliver_due

    with app.app_context():
        add_endpoint(receiver.url, [])
        emit("journey.started", None, run_id="r1")
        db.session.commit()
        app.config["TOKEN_ENCRYPTION_KEY"] = Fernet.generate_key().decode()

        deliver_due("w")

        waiting = db.session.scalars(select(WebhookDelivery)).one()
        assert waiting.status == "pending"
        assert [a.error for a in waiting.attempts_made] == [
            "the endpoint's secret cannot be decrypted"
        ]
    assert receiver.requests == []

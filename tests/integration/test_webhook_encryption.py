"""Encrypted webhook payloads: a compact JWE to the receiver's public key, signed over what is
sent, and opened by the documented receiver example (docs/examples/receive_encrypted_webhook.py)."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from flask import Flask
from joserfc import jwe
from joserfc.jwk import ECKey, Key, KeySet, OKPKey, RSAKey
from sqlalchemy import select
from standardwebhooks import Webhook

from app.extensions import db
from app.models import OutboxEvent
from app.webhooks import delivery, encryption, endpoints
from app.webhooks.outbox import emit, payload
from tests.integration.webhook_receiver import Receiver

EXAMPLE = Path(__file__).parents[2] / "docs" / "examples" / "receive_encrypted_webhook.py"
ALGORITHMS = ["RSA-OAEP-256", "ECDH-ES+A256KW", "A256GCM"]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture(scope="module")
def example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("receive_encrypted_webhook", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _private_keys() -> list[Key]:
    return [
        RSAKey.generate_key(2048, private=True),
        ECKey.generate_key("P-256", private=True),
        ECKey.generate_key("P-384", private=True),
        OKPKey.generate_key("X25519", private=True),
    ]


def _encrypted_endpoint(app: Flask, url: str, public_key: object) -> tuple[str, str]:
    with app.app_context():
        endpoint, secret = endpoints.add_endpoint(url, [])
        encryption.set_key(endpoint, public_key)
        db.session.commit()
        return endpoint.public_id, secret


def _deliver_one(app: Flask) -> dict[str, Any]:
    """Emit an event, deliver it, and return the JSON a plain delivery would have sent."""
    with app.app_context():
        emit("journey.started", None, run_id="run-1")
        db.session.commit()
        assert delivery.deliver_due("test-worker") == 1
        return payload(db.session.scalars(select(OutboxEvent)).one())


@pytest.mark.parametrize("private_key", _private_keys(), ids=["RSA", "P-256", "P-384", "X25519"])
def test_an_encrypted_delivery_decrypts_and_its_signature_verifies(
    app: Flask, receiver: Receiver, private_key: Key
) -> None:
    _, secret = _encrypted_endpoint(app, receiver.url, private_key.as_dict(private=False))
    expected = _deliver_one(app)

    [received] = receiver.requests
    assert received.headers["content-type"] == "application/jose"
    Webhook(secret).verify(received.body, received.headers, json_parse=False)
    opened = jwe.decrypt_compact(received.body, private_key, algorithms=ALGORITHMS)
    assert json.loads(opened.plaintext or b"") == expected
    assert opened.protected["kid"] == private_key.thumbprint()
    assert opened.protected["enc"] == "A256GCM"
    assert b"journey.started" not in received.body


def test_without_a_key_the_payload_is_plain_json(app: Flask, receiver: Receiver) -> None:
    with app.app_context():
        _, secret = endpoints.add_endpoint(receiver.url, [])
        db.session.commit()
    expected = _deliver_one(app)
    [received] = receiver.requests
    assert received.headers["content-type"] == "application/json"
    assert Webhook(secret).verify(received.body, received.headers) == expected


def test_the_documented_receiver_verifies_then_decrypts_a_real_delivery(
    app: Flask, receiver: Receiver, example: ModuleType, tmp_path: Path
) -> None:
    public = example.keygen(str(tmp_path / "private.jwk"))
    _, secret = _encrypted_endpoint(app, receiver.url, json.dumps(public))
    expected = _deliver_one(app)
    keys = example.load_private_keys(str(tmp_path / "private.jwk"))

    [received] = receiver.requests
    assert example.verify_and_decrypt(received.body, received.headers, secret, keys) == expected

    with pytest.raises(example.Rejected, match="signature"):
        example.verify_and_decrypt(received.body, received.headers, endpoints.new_secret(), keys)
    tampered = received.body[:-2] + (b"AA" if received.body[-2:] != b"AA" else b"BB")
    with pytest.raises(example.Rejected, match="signature"):
        example.verify_and_decrypt(tampered, received.headers, secret, keys)
    with pytest.raises(example.Rejected, match="decryption"):
        other = KeySet([ECKey.generate_key("P-256", private=True)])
        example.verify_and_decrypt(received.body, received.headers, secret, other)


def test_rotating_the_key_changes_the_kid_and_the_receiver_opens_both(
    app: Flask, receiver: Receiver, example: ModuleType, tmp_path: Path
) -> None:
    old_public = example.keygen(str(tmp_path / "old.jwk"))
    endpoint_id, secret = _encrypted_endpoint(app, receiver.url, old_public)
    _deliver_one(app)
    new_public = example.keygen(str(tmp_path / "new.jwk"), "X25519")
    with app.app_context():
        endpoint = endpoints.get_endpoint(endpoint_id)
        assert endpoint is not None
        old_kid = encryption.receiver_key(endpoint).kid  # type: ignore[union-attr]
        new_kid = encryption.set_key(endpoint, new_public).kid
        db.session.commit()
        emit("journey.completed", None, run_id="run-2")
        db.session.commit()
        delivery.deliver_due("test-worker")

    assert old_kid != new_kid
    keys = example.load_private_keys(str(tmp_path / "old.jwk"), str(tmp_path / "new.jwk"))
    kids = [
        jwe.decrypt_compact(r.body, keys, algorithms=ALGORITHMS).protected["kid"]
        for r in receiver.requests
    ]
    assert kids == [old_kid, new_kid]
    types = [
        example.verify_and_decrypt(r.body, r.headers, secret, keys)["type"]
        for r in receiver.requests
    ]
    assert types == ["journey.started", "journey.completed"]


def test_a_test_ping_is_encrypted_too(app: Flask, receiver: Receiver) -> None:
    private_key = ECKey.generate_key("P-256", private=True)
    endpoint_id, secret = _encrypted_endpoint(app, receiver.url, private_key.as_dict(private=False))
    with app.app_context():
        endpoint = endpoints.get_endpoint(endpoint_id)
        assert endpoint is not None
        assert delivery.send_test(endpoint).status_code == 200
    [received] = receiver.requests
    Webhook(secret).verify(received.body, received.headers, json_parse=False)
    opened = jwe.decrypt_compact(received.body, private_key, algorithms=ALGORITHMS)
    assert json.loads(opened.plaintext or b"")["type"] == "webhook.test"

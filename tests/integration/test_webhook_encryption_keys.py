"""Setting, replacing and removing a webhook endpoint's encryption key through the API and the
CLI: the thumbprint is shown, and private, garbage or unsupported keys are refused clearly."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from flask import Flask
from flask.testing import FlaskClient
from joserfc.jwk import ECKey, OKPKey, RSAKey
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEntry
from app.webhooks import encryption, endpoints
from tests.integration.api_helpers import Api, create_key, fields, problem

ENDPOINTS = "/api/v1/webhook-endpoints"
RECEIVER = "http://127.0.0.1:9/onramp-events"
EC_KEY = ECKey.generate_key("P-256", private=True)
RSA_KEY = RSAKey.generate_key(3072, private=True)


def _pem(key: object) -> str:
    return key.public_bytes(  # type: ignore[attr-defined,no-any-return]
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


# Each refused key, and words the refusal must contain.
REFUSED = [
    pytest.param(EC_KEY.as_dict(private=True), "private key", id="private JWK"),
    pytest.param(RSA_KEY.as_pem(private=True).decode(), "private key", id="private PEM"),
    pytest.param({"kty": "oct", "k": "c2VjcmV0"}, "private key", id="symmetric JWK"),
    pytest.param(
        RSA_KEY.as_pem(private=False).decode() + RSA_KEY.as_pem(private=True).decode(),
        "private key",
        id="public and private PEM",
    ),
    pytest.param("not a key at all", "neither a JSON Web Key nor a PEM", id="garbage"),
    pytest.param(
        _pem(rsa.generate_private_key(65537, 1024).public_key()), "1024 bits", id="weak RSA"
    ),
    pytest.param(
        _pem(ed25519.Ed25519PrivateKey.generate().public_key()), "cannot encrypt", id="Ed25519"
    ),
    pytest.param(
        OKPKey.generate_key("Ed25519").as_dict(private=False), "use X25519", id="Ed25519 JWK"
    ),
    pytest.param(
        ECKey.generate_key("P-521").as_dict(private=False), "use P-256 or P-384", id="P-521"
    ),
    pytest.param(
        {**EC_KEY.as_dict(private=False), "use": "sig"}, "marked for signatures", id="sig key"
    ),
]


@pytest.fixture
def api(app: Flask, client: FlaskClient) -> Api:
    return Api(client, create_key(app, "read", "write"))


def _endpoint_id(app: Flask) -> str:
    with app.app_context():
        endpoint, _ = endpoints.add_endpoint(RECEIVER, [])
        db.session.commit()
        return endpoint.public_id


def _stored_key(app: Flask, endpoint_id: str) -> encryption.ReceiverKey | None:
    with app.app_context():
        endpoint = endpoints.get_endpoint(endpoint_id)
        assert endpoint is not None
        return encryption.receiver_key(endpoint)


def test_the_api_sets_replaces_and_removes_a_key(app: Flask, api: Api) -> None:
    endpoint_id = _endpoint_id(app)
    url = f"{ENDPOINTS}/{endpoint_id}/encryption-key"
    assert api.get(ENDPOINTS).get_json()["data"][0]["encryption"] is None

    first = api.put(url, json={"public_key": EC_KEY.as_dict(private=False)})
    assert first.status_code == 200, first.text
    assert first.get_json()["encryption"] == {
        "kid": EC_KEY.thumbprint(),
        "key_type": "EC P-256",
        "alg": "ECDH-ES+A256KW",
        "enc": "A256GCM",
    }
    second = api.put(url, json={"public_key": RSA_KEY.as_pem(private=False).decode()})
    assert second.get_json()["encryption"]["kid"] == RSA_KEY.thumbprint() != EC_KEY.thumbprint()
    assert second.get_json()["encryption"]["key_type"] == "RSA 3072 bits"
    listed = api.get(ENDPOINTS).get_json()["data"][0]
    assert listed["encryption"]["alg"] == "RSA-OAEP-256"

    removed = api.delete(url)
    assert removed.status_code == 200 and removed.get_json()["encryption"] is None
    assert _stored_key(app, endpoint_id) is None
    with app.app_context():
        trail = [
            (e.before["encryption"], e.after["encryption"])
            for e in db.session.scalars(
                select(AuditEntry).where(AuditEntry.action == "webhook_endpoint.encryption_key")
            )
        ]
    assert [(b and b["kid"], a and a["kid"]) for b, a in trail] == [
        (None, EC_KEY.thumbprint()),
        (EC_KEY.thumbprint(), RSA_KEY.thumbprint()),
        (RSA_KEY.thumbprint(), None),
    ]


def test_an_endpoint_can_be_created_with_a_key(app: Flask, api: Api) -> None:
    public = OKPKey.generate_key("X25519", private=True)
    created = api.post(
        ENDPOINTS, json={"url": RECEIVER, "public_key": public.as_dict(private=False)}
    )
    assert created.status_code == 201
    assert created.get_json()["encryption"]["kid"] == public.thumbprint()
    assert created.get_json()["encryption"]["key_type"] == "OKP X25519"


@pytest.mark.parametrize(("key", "words"), REFUSED)
def test_the_api_refuses_a_bad_key_naming_the_field(
    app: Flask, api: Api, key: object, words: str
) -> None:
    endpoint_id = _endpoint_id(app)
    response = api.put(f"{ENDPOINTS}/{endpoint_id}/encryption-key", json={"public_key": key})
    body = problem(response, 422, "validation-error")
    assert fields(body) == ["public_key"]
    assert words in body["errors"][0]["message"]
    assert "BEGIN" not in response.text and '"d"' not in response.text
    assert _stored_key(app, endpoint_id) is None


def test_creating_with_a_private_key_creates_nothing(api: Api) -> None:
    response = api.post(
        ENDPOINTS, json={"url": RECEIVER, "public_key": EC_KEY.as_dict(private=True)}
    )
    assert fields(problem(response, 422, "validation-error")) == ["public_key"]
    assert api.get(ENDPOINTS).get_json() == {"data": []}


def test_the_api_answers_404_for_an_unknown_endpoint(api: Api) -> None:
    url = f"{ENDPOINTS}/00000000-0000-4000-8000-000000000000/encryption-key"
    problem(api.put(url, json={"public_key": EC_KEY.as_dict()}), 404, "not-found")
    problem(api.delete(url), 404, "not-found")


def test_the_key_is_described_in_the_openapi_document(client: FlaskClient) -> None:
    document = client.get("/api/openapi.json").get_json()
    operations = document["paths"]["/api/v1/webhook-endpoints/{endpoint_id}/encryption-key"]
    assert set(operations) >= {"put", "delete"}
    schemas = document["components"]["schemas"]
    assert "public_key" in schemas["WebhookEndpointRequest"]["properties"]
    assert "encryption" in schemas["WebhookEndpoint"]["properties"]


def test_the_cli_sets_and_removes_a_key(app: Flask, tmp_path: Path) -> None:
    endpoint_id = _endpoint_id(app)
    runner = app.test_cli_runner()
    key_file = tmp_path / "public.pem"
    key_file.write_text(RSA_KEY.as_pem(private=False).decode())

    result = runner.invoke(args=["webhooks", "encrypt", endpoint_id, "--public-key", key_file])
    assert result.exit_code == 0, result.output
    assert f"kid: {RSA_KEY.thumbprint()}" in result.output
    assert "RSA 3072 bits" in result.output
    assert _stored_key(app, endpoint_id).kid == RSA_KEY.thumbprint()  # type: ignore[union-attr]

    removed = runner.invoke(args=["webhooks", "encrypt", endpoint_id, "--remove"])
    assert removed.exit_code == 0
    assert "unencrypted" in removed.output
    assert _stored_key(app, endpoint_id) is None


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (RSA_KEY.as_pem(private=True).decode(), "private key"),
        ("garbage", "neither a JSON Web Key nor a PEM"),
    ],
)
def test_the_cli_refuses_a_bad_key(app: Flask, tmp_path: Path, content: str, words: str) -> None:
    endpoint_id = _endpoint_id(app)
    key_file = tmp_path / "key"
    key_file.write_text(content)
    result = app.test_cli_runner().invoke(
        args=["webhooks", "encrypt", endpoint_id, "--public-key", key_file]
    )
    assert result.exit_code == 2
    assert "--public-key" in result.output and words in result.output
    assert "BEGIN" not in result.output
    assert _stored_key(app, endpoint_id) is None


def test_the_cli_needs_one_of_a_key_or_remove(app: Flask, tmp_path: Path) -> None:
    endpoint_id = _endpoint_id(app)
    runner = app.test_cli_runner()
    neither = runner.invoke(args=["webhooks", "encrypt", endpoint_id])
    assert neither.exit_code == 2 and "--public-key FILE or --remove" in neither.output
    missing = runner.invoke(args=["webhooks", "encrypt", "no-such-id", "--remove"])
    assert missing.exit_code == 2 and "no webhook endpoint" in missing.output

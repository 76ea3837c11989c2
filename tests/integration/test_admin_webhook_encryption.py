"""The console's payload encryption page: thumbprint shown, key set, replaced and removed, bad
keys refused with a message on the field (and never echoed back)."""

from __future__ import annotations

import json

import pytest
from flask import Flask
from joserfc.jwk import ECKey, RSAKey
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEntry
from app.webhooks import encryption, endpoints
from tests.admin import signed_in_as
from tests.pages import text_of

RECEIVER = "http://127.0.0.1:9/onramp-events"
EC_KEY = ECKey.generate_key("P-384", private=True)
RSA_KEY = RSAKey.generate_key(2048, private=True)


def _endpoint_id(app: Flask) -> str:
    with app.app_context():
        endpoint, _ = endpoints.add_endpoint(RECEIVER, [])
        db.session.commit()
        return endpoint.public_id


def _kid(app: Flask, endpoint_id: str) -> str | None:
    with app.app_context():
        endpoint = endpoints.get_endpoint(endpoint_id)
        assert endpoint is not None
        key = encryption.receiver_key(endpoint)
        return key.kid if key else None


def test_an_admin_sets_replaces_and_removes_the_key(app: Flask) -> None:
    endpoint_id = _endpoint_id(app)
    admin = signed_in_as(app, "admin")
    page = f"/admin/webhooks/endpoints/{endpoint_id}/encryption"
    assert f'href="{page}"' in admin.get("/admin/webhooks").text
    assert "None: payloads are sent as signed JSON." in text_of(admin.get(page))

    first = admin.post(
        page, data={"public_key": json.dumps(EC_KEY.as_dict(private=False))}, follow_redirects=True
    )
    assert f"Payloads are now encrypted to the key {EC_KEY.thumbprint()}" in text_of(first)
    assert "EC P-384" in text_of(first) and "Replace the key" in text_of(first)
    replaced = admin.post(
        page, data={"public_key": RSA_KEY.as_pem(private=False).decode()}, follow_redirects=True
    )
    assert RSA_KEY.thumbprint() in text_of(replaced) and "RSA 2048 bits" in text_of(replaced)
    assert _kid(app, endpoint_id) == RSA_KEY.thumbprint()

    removed = admin.post(f"{page}/remove", follow_redirects=True)
    assert "Payloads are sent unencrypted" in text_of(removed)
    assert _kid(app, endpoint_id) is None
    with app.app_context():
        actors = db.session.scalars(
            select(AuditEntry.actor_id).where(
                AuditEntry.action == "webhook_endpoint.encryption_key"
            )
        ).all()
    assert actors == ["admin@example.com"] * 3


@pytest.mark.parametrize(
    ("pasted", "words"),
    [
        (RSA_KEY.as_pem(private=True).decode(), "this is a private key"),
        (json.dumps(EC_KEY.as_dict(private=True)), "this is a private key"),
        ("hello", "neither a JSON Web Key nor a PEM public key"),
        ("", "Paste the receiver's public key."),
    ],
)
def test_a_bad_key_is_refused_on_the_field(app: Flask, pasted: str, words: str) -> None:
    endpoint_id = _endpoint_id(app)
    admin = signed_in_as(app, "admin")
    response = admin.post(
        f"/admin/webhooks/endpoints/{endpoint_id}/encryption", data={"public_key": pasted}
    )
    assert response.status_code == 400
    assert words in text_of(response)
    assert 'aria-invalid="true"' in response.text
    assert "PRIVATE KEY" not in response.text and '"d"' not in response.text
    assert _kid(app, endpoint_id) is None


def test_the_refusal_is_translated(app: Flask) -> None:
    endpoint_id = _endpoint_id(app)
    admin = signed_in_as(app, "admin")
    response = admin.post(
        f"/admin/webhooks/endpoints/{endpoint_id}/encryption",
        data={"public_key": "hello"},
        headers={"Accept-Language": "fr"},
    )
    assert response.status_code == 400
    assert "Chiffrement des charges utiles" in text_of(response)
    assert "neither a JSON Web Key" not in response.text


@pytest.mark.parametrize("role", ["viewer", "support", "editor"])
def test_only_admins_change_the_key(app: Flask, role: str) -> None:
    endpoint_id = _endpoint_id(app)
    client = signed_in_as(app, role)
    page = f"/admin/webhooks/endpoints/{endpoint_id}/encryption"
    assert "Set a key" not in client.get(page).text
    data = {"public_key": json.dumps(EC_KEY.as_dict(private=False))}
    assert client.post(page, data=data).status_code == 403
    assert client.post(f"{page}/remove").status_code == 403
    assert _kid(app, endpoint_id) is None


def test_an_unknown_endpoint_is_not_found(app: Flask) -> None:
    admin = signed_in_as(app, "admin")
    assert admin.get("/admin/webhooks/endpoints/nope/encryption").status_code == 404
    assert admin.post("/admin/webhooks/endpoints/nope/encryption/remove").status_code == 404

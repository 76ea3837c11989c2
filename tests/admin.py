"""Signing colleagues in to the admin console, for the tests of every admin area."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from app.admin.accounts import create_user
from app.extensions import db

PASSWORD = "correct horse battery staple"


def make_user(app: Flask, role: str, email: str | None = None) -> str:
    """Create an account with ``role`` (email ``<role>@example.com`` unless given)."""
    with app.app_context():
        user, _ = create_user(email or f"{role}@example.com", role, PASSWORD)
        db.session.commit()
        return user.email


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD) -> None:
    response = client.post("/admin/login", data={"email": email, "password": password})
    assert response.status_code == 303, response.text


def signed_in_as(app: Flask, role: str) -> FlaskClient:
    """A new browser signed in with a new account of ``role``."""
    client = app.test_client()
    sign_in(client, make_user(app, role))
    return client


def preview_at_software(app: Flask) -> tuple[FlaskClient, str]:
    """A viewer previewing the default journey in English, past its consent step: the
    signed-in client and the preview's base path."""
    from app.engine.registry import get_journey

    viewer = signed_in_as(app, "viewer")
    with app.app_context():
        journey = get_journey("default")
        assert journey is not None
        version = journey.version
    base = f"/admin/journeys/default/preview/{version}"
    viewer.post(base, data={"locale": "en", "brand": ""})
    viewer.post(f"{base}/step/welcome")
    viewer.post(
        f"{base}/step/consent",
        data={"consent_financial_statements": "y", "consent_invoices_bills": "y", "agree": "y"},
    )
    return viewer, base

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

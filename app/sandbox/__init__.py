"""Sandbox Accounting: a fake accounting platform with a real OAuth 2.0 server.

Onramp reaches it only over HTTP, exactly as it reaches Xero, and it shares nothing
with Onramp it could not share over HTTP: its tables live in its own database
(storage.py), its headers are its own (headers.py). It runs inside Onramp under
/sandbox (``init_sandbox``) or alone (``create_sandbox_app``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

from flask import Flask

from app.config import SANDBOX_LOGIN_KEY, SANDBOX_LOGINS_KEY, configure, new_app
from app.extensions import babel, csrf, static_digest
from app.sandbox import (
    tables,  # noqa: F401  (declares the tables init_storage creates)
    vendor_views,
    views,
)
from app.sandbox.authorization_server import create_authorization_server
from app.sandbox.data import SANDBOX_LOGIN_EMAIL, SANDBOX_LOGIN_PASSWORD, USERS
from app.sandbox.dialects import DIALECTS
from app.sandbox.headers import security_headers
from app.sandbox.storage import init_storage


class DemoLogin(NamedTuple):
    """The sandbox's published test login: anyone may sign in with it."""

    email: str
    password: str


class TestLogin(NamedTuple):
    """One of the sandbox's test logins and who it stands for (the sign-in page says so)."""

    email: str
    password: str
    who: str


def init_sandbox(app: Flask, *, mounted: bool = True) -> DemoLogin:
    """Serve the sandbox under /sandbox on an app that has csrf set up; ``mounted``: the
    app is Onramp (so the Sandbox knows where Onramp's Disconnect URL is).

    Registers its demo login as ``app.extensions["sandbox_demo_login"]`` and returns it;
    every test login (the adviser's and the too-weak one too) as ``["sandbox_test_logins"]``.
    """
    init_storage(app)
    app.extensions[views.MOUNTED_KEY] = mounted
    app.extensions["sandbox_oauth"] = {
        key: create_authorization_server(dialect) for key, dialect in DIALECTS.items()
    }
    app.register_blueprint(views.bp, url_prefix="/sandbox")
    # The vendors it plays, each at its own paths: {SANDBOX_URL}/v/<platform key>/...
    app.register_blueprint(vendor_views.bp, url_prefix="/sandbox/v")
    # Machine-to-machine endpoints: clients authenticate with secrets or tokens, not cookies.
    for view in (views.token, views.revoke, views.organisation, views.organisations):
        csrf.exempt(view)
    for view in vendor_views.MACHINE_VIEWS:
        csrf.exempt(view)
    login = DemoLogin(SANDBOX_LOGIN_EMAIL, SANDBOX_LOGIN_PASSWORD)
    app.extensions[SANDBOX_LOGIN_KEY] = login
    app.extensions[SANDBOX_LOGINS_KEY] = tuple(
        TestLogin(user.email, user.password, user.who) for user in USERS
    )
    return login


def create_sandbox_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build an app serving only the sandbox, e.g. on its own port beside Onramp."""
    app = new_app(__name__)
    configure(app, test_config)
    # Cookies ignore ports: beside Onramp on the same host, a shared cookie name
    # would let each app overwrite the other's session.
    app.config["SESSION_COOKIE_NAME"] = "sandbox_session"
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    csrf.init_app(app)
    babel.init_app(app)
    # Its pages share Onramp's base template, which names static files by their hash.
    static_digest.init_app(app)
    # The blueprint sets them on its pages; this covers the app's own (a 404, say).
    app.after_request(security_headers)
    init_sandbox(app, mounted=False)
    return app


__all__ = ["DemoLogin", "TestLogin", "create_sandbox_app", "init_sandbox"]

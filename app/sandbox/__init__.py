"""Sandbox Accounting: a fake accounting platform with a real OAuth 2.0 server.

Onramp reaches it only over HTTP, exactly as it reaches Xero. It runs inside
Onramp under /sandbox (``init_sandbox``) or alone (``create_sandbox_app``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from app.config import ROOT, configure, new_app
from app.extensions import babel, csrf, db
from app.sandbox import views
from app.sandbox.models import SANDBOX_TABLES
from app.sandbox.oauth import create_authorization_server
from app.security import init_security_headers


def init_sandbox(app: Flask) -> None:
    """Serve the sandbox under /sandbox on an app that has db, csrf and headers set up."""
    app.extensions["sandbox_oauth"] = create_authorization_server()
    app.register_blueprint(views.bp, url_prefix="/sandbox")
    # Machine-to-machine endpoints: clients authenticate with secrets or tokens, not cookies.
    for view in (views.token, views.revoke, views.organisation, views.organisations):
        csrf.exempt(view)


def create_sandbox_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build an app serving only the sandbox, e.g. on its own port beside Onramp."""
    app = new_app(__name__)
    # Its own database unless told otherwise: creating tables in Onramp's
    # database would collide with Onramp's migrations.
    app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{ROOT / 'instance' / 'sandbox.db'}"
    configure(app, test_config)
    # Cookies ignore ports: beside Onramp on the same host, a shared cookie name
    # would let each app overwrite the other's session.
    app.config["SESSION_COOKIE_NAME"] = "sandbox_session"
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    db.init_app(app)
    csrf.init_app(app)
    babel.init_app(app)
    init_security_headers(app)
    init_sandbox(app)
    with app.app_context():
        db.metadata.create_all(db.engine, tables=SANDBOX_TABLES)
    return app


__all__ = ["create_sandbox_app", "init_sandbox"]

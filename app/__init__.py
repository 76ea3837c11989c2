"""Onramp: customers connect their accounting software with informed, provable consent."""

from __future__ import annotations

from email.utils import formataddr
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from sqlalchemy import event
from werkzeug.middleware.proxy_fix import ProxyFix

from app.config import ROOT, configure, new_app
from app.connections.flows import init_flow_store
from app.extensions import csrf, db, htmx, limiter, migrate
from app.input_guard import ClosingRequest, init_input_guard, init_routing


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the Onramp application: customer journey, connections and the sandbox."""
    app = new_app(__name__)
    configure(app, test_config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    _configure_proxies(app)
    _configure_upload_limits(app)
    _configure_extensions(app)
    _configure_static_files(app)
    # After Htmx's init_app, which sets its own (this one builds on it).
    app.request_class = ClosingRequest
    _configure_journeys(app)
    _configure_business_name(app)
    _configure_templates(app)
    init_routing(app)
    _configure_blueprints(app)
    _configure_rate_limits(app)
    _configure_security(app)
    _configure_input_guard(app)
    _configure_operations(app)
    _configure_errors(app)
    _configure_cli(app)
    return app


def _configure_proxies(app: Flask) -> None:
    """Believe X-Forwarded-For and -Proto from ONRAMP_TRUSTED_PROXIES hops, nothing more.

    Then ``request.remote_addr`` is the client's address for sign-in throttling, rate
    limits and consent evidence. X-Forwarded-Host is never believed: every link is built
    from PUBLIC_URL.
    """
    hops = app.config["TRUSTED_PROXIES"]
    if isinstance(hops, bool) or not isinstance(hops, int) or hops < 0:
        raise ValueError(
            f"ONRAMP_TRUSTED_PROXIES must be the number of reverse proxies in front of "
            f"Onramp (0 or more), not {hops!r}"
        )
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]


def _configure_upload_limits(app: Flask) -> None:
    """Before CSRF protection reads a form: an upload step's post may carry its files."""
    from app.journey.views import allow_uploads

    app.before_request(allow_uploads)


def _configure_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    htmx.init_app(app)
    init_flow_store(app)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        with app.app_context():
            event.listen(db.engine, "connect", _sqlite_pragmas)


def _configure_static_files(app: Flask) -> None:
    from app.static_files import init_static_files

    init_static_files(app)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the OAuth callback write while another request reads; the busy
    # timeout makes concurrent writers from several worker processes wait, not fail.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _configure_journeys(app: Flask) -> None:
    from app.engine.locales import init_locales
    from app.engine.registry import init_registry

    init_registry(app)
    init_locales(app)


def _configure_business_name(app: Flask) -> None:
    """Customers hear from the business, never from Onramp: unless set, mail comes from
    the default journey's business, and the Sandbox knows the app by its name (as a
    business registers its app with Xero), which its "Allow ...?" screen shows."""
    from app.engine.registry import file_journeys

    with app.app_context():
        default = file_journeys().get(app.config["DEFAULT_JOURNEY"])
    name = default.business.name if default else ""
    app.config["SANDBOX_CLIENT_NAME"] = app.config["SANDBOX_CLIENT_NAME"] or name
    if not app.config["MAIL_FROM"]:
        host = urlsplit(app.config["PUBLIC_URL"]).hostname or "localhost"
        app.config["MAIL_FROM"] = formataddr((name, f"no-reply@{host}"))


def _configure_templates(app: Flask) -> None:
    from app.dates import when
    from app.markdown import render_markdown
    from app.platforms import get_platform

    app.jinja_env.filters["markdown"] = render_markdown
    app.jinja_env.filters["when"] = when
    app.jinja_env.globals["get_platform"] = get_platform
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True


def _configure_blueprints(app: Flask) -> None:
    from app.account.receipt_views import bp as receipts_bp
    from app.account.views import bp as account_bp
    from app.admin import init_admin
    from app.api.views import bp as api_bp
    from app.journey.callback import bp as connections_bp
    from app.journey.callback import provider_webhook
    from app.journey.delegated import bp as delegated_bp
    from app.journey.views import bp as journey_bp

    app.register_blueprint(delegated_bp)
    app.register_blueprint(journey_bp)
    app.register_blueprint(account_bp)
    app.register_blueprint(receipts_bp)
    init_admin(app)
    app.register_blueprint(connections_bp)
    # Platforms sign their webhooks: no browser, no cookie, no CSRF token.
    csrf.exempt(provider_webhook)
    # API clients authenticate with a bearer key, never a cookie: nothing to forge.
    app.register_blueprint(api_bp)
    csrf.exempt(api_bp)
    if app.config["SANDBOX_ENABLED"]:
        _mount_sandbox(app)


def _configure_rate_limits(app: Flask) -> None:
    """Leave out Flask-Limiter's check before each request when it has nothing to check.

    That check applies the limits no view declares: application-wide, default, meta and
    blueprint limits. A view's own (``@limiter.limit``) is checked by its decorator either
    way. Onramp sets none of the others unless the operator does (RATELIMIT_DEFAULT,
    RATELIMIT_APPLICATION, RATELIMIT_META), and then the check stays; without them it
    looked every one up, found nothing, and cost a twentieth of a step page.
    """
    manager = limiter.limit_manager
    undeclared = (
        manager.default_limits,
        manager.application_limits,
        app.config.get("RATELIMIT_META"),
        # Flask-Limiter keeps no public list of these; if it moves, the check stays.
        getattr(manager, "_blueprint_limits", True),
    )
    if any(undeclared):
        return
    check = limiter._check_request_limit
    if check in app.before_request_funcs[None]:
        app.before_request_funcs[None].remove(check)


def _mount_sandbox(app: Flask) -> None:
    """The one place Onramp imports the sandbox: to serve it under /sandbox."""
    from app.sandbox import init_sandbox

    # It registers its test login under SANDBOX_LOGIN_KEY, which `flask demo` prints.
    init_sandbox(app)


def _configure_security(app: Flask) -> None:
    from app.security import (
        csrf_token,
        init_compression,
        init_security_headers,
        init_session_cookie,
    )

    # In place of Flask-WTF's own ``csrf_token`` (installed by csrf.init_app): as a global,
    # and without its context processor, which ran on every render to hand templates the
    # same function again, and outranked the global.
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.template_context_processors[None] = [
        processor
        for processor in app.template_context_processors[None]
        if getattr(processor, "__module__", None) != "flask_wtf.csrf"
    ]
    init_security_headers(app)
    init_session_cookie(app)
    init_compression(app)


def _configure_input_guard(app: Flask) -> None:
    init_input_guard(app)


def _configure_operations(app: Flask) -> None:
    from app.ops.logs import init_logging
    from app.ops.probes import bp as ops_bp
    from app.ops.scrape import init_metrics
    from app.security_events import init_security_events

    init_logging(app)
    init_metrics(app)
    init_security_events(app)
    app.register_blueprint(ops_bp)


def _configure_errors(app: Flask) -> None:
    from app.errors import init_error_pages

    init_error_pages(app)


def _configure_cli(app: Flask) -> None:
    from app.cli import init_cli

    init_cli(app)


__all__ = ["create_app"]

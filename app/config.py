"""Configuration: defaults, then the environment, then a test mapping.

Secrets never have a literal fallback. Outside production they are generated once
and kept in ``instance/secrets.json`` so that a development server keeps its
sessions and encrypted tokens across restarts.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from flask import Flask

# Secrets the app cannot run without, and how a development one is generated.
SECRET_GENERATORS = {
    "SECRET_KEY": lambda: secrets.token_urlsafe(48),
    "TOKEN_ENCRYPTION_KEY": lambda: Fernet.generate_key().decode(),
    "SANDBOX_CLIENT_SECRET": lambda: secrets.token_urlsafe(32),
    # Ed25519 private key (base64url of the 32-byte seed, or PEM) that signs consent
    # receipts and ledger checkpoints; `flask consents public-key` prints its public half.
    "CONSENT_SIGNING_KEY": lambda: secrets.token_urlsafe(32),
}

DEFAULTS: dict[str, Any] = {
    "ENV_NAME": "development",
    "PUBLIC_URL": "http://127.0.0.1:5000",
    # Where a running server (`make run`, gunicorn) records its PUBLIC_URL, so that a
    # command such as `flask invite` in another shell prints links to where it runs
    # when ONRAMP_PUBLIC_URL is not set there; None: instance/server.json.
    "SERVER_FILE": None,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_NAME": "onramp_session",
    "PERMANENT_SESSION_LIFETIME": 60 * 60 * 24,
    # The cookie is sent again only when the session changes, not re-signed on every page:
    # a session lasts a day from its last change.
    "SESSION_REFRESH_EACH_REQUEST": False,
    "MAX_CONTENT_LENGTH": 64 * 1024,
    "WTF_CSRF_TIME_LIMIT": 60 * 60 * 8,
    # How long a journey link printed by `flask invite` stays valid.
    "LINK_MAX_AGE_SECONDS": 60 * 60 * 24 * 14,
    # How long a customer has to finish signing in at the provider.
    "OAUTH_FLOW_TTL_SECONDS": 60 * 15,
    # How long finishing a sign-in (token exchange, organisation look-up) may take before
    # the attempt counts as interrupted: well above three provider calls' timeouts.
    "CONNECTION_FINISH_SECONDS": 120,
    # The background worker refreshes tokens ahead of expiry and retires connections past
    # their refresh token's absolute expiry this often (app/connections/health.py) ...
    "CONNECTION_REFRESH_CHECK_SECONDS": 60,
    # ... and asks each linked connection's platform whether it still reaches the
    # organisation this often (sooner after a provider's webhook or Disconnect URL).
    "CONNECTION_HEALTH_SECONDS": 6 * 60 * 60,
    # Timeouts (connect, read) for every call to an accounting platform.
    "PROVIDER_TIMEOUT": (5.0, 15.0),
    "JOURNEYS_DIR": None,
    "DEFAULT_JOURNEY": "default",
    # The built-in sandbox platform; SANDBOX_URL points elsewhere when it runs on its own.
    # Unset: on, except in production, where its published test login must not be served
    # unless asked for (a UAT environment sets ONRAMP_SANDBOX_ENABLED=true).
    "SANDBOX_ENABLED": None,
    "SANDBOX_URL": None,
    "SANDBOX_CLIENT_ID": "onramp-sandbox-client",
    # The name the Sandbox shows for Onramp's registered app; unset: the default
    # journey's business.
    "SANDBOX_CLIENT_NAME": None,
    "SANDBOX_REDIRECT_URIS": None,
    # Platforms the Sandbox plays in their vendor's dialect, offered to customers through
    # it (a list or comma-separated): for UAT and demos (app/platforms.py sandbox_plays).
    "SANDBOX_PLAYS": [],
    # What the Sandbox signs its played vendors' change notifications with, and where it
    # sends them from its Connected apps page: {platform key: value}, e.g. for Xero
    # {"xero": "<the key set as ONRAMP_XERO_WEBHOOK_KEY>"}.
    "SANDBOX_WEBHOOK_KEYS": {},
    "SANDBOX_WEBHOOK_URLS": {},
    # Where "Disconnect in QuickBooks" on the Sandbox's Connected apps page sends the
    # browser, as Intuit sends it to the app's registered Disconnect URL: {platform key:
    # URL}. Mounted inside Onramp, PUBLIC_URL/connect/<key>/disconnected when unset.
    "SANDBOX_DISCONNECT_URLS": {},
    # The sandbox's own database (it plays a third-party platform and shares none of
    # Onramp's); None: instance/sandbox.db.
    "SANDBOX_DATABASE_URL": None,
    "REDIS_URL": None,
    # A run untouched this long is reported to the business as journey.abandoned.
    "JOURNEY_ABANDON_AFTER_SECONDS": 60 * 60 * 24,
    # The console counts a customer as stuck when their unfinished journey has not moved
    # for this long (the overview's "Stuck" figure and the customers list's filter).
    "CUSTOMER_STUCK_AFTER_SECONDS": 60 * 60 * 24,
    # Admin console: signed out after this long without a request.
    "ADMIN_IDLE_TIMEOUT_SECONDS": 30 * 60,
    # Requests to the single sign-on routes allowed per address (password sign-in has
    # its own backoff, app/admin/throttle.py).
    "ADMIN_LOGIN_RATE_LIMIT": "5 per minute;20 per hour",
    # Compression (Flask-Compress): registered by app.security, not by the extension itself,
    # so that pages showing a credential go uncompressed; streamed exports go as they are.
    "COMPRESS_REGISTER": False,
    "COMPRESS_STREAMS": False,
    "COMPRESS_ALGORITHM": ["zstd", "br", "gzip"],
    # Reverse proxies in front of Onramp whose X-Forwarded-For and X-Forwarded-Proto are
    # believed (hop count). 0: none, the socket's address is the client's.
    "TRUSTED_PROXIES": 0,
    # Said outright: Flask-Limiter's one limiter keeps the last app's choice as the
    # default for the next app it is set up for (tests build many apps in one process).
    "RATELIMIT_ENABLED": True,
    "RATELIMIT_HEADERS_ENABLED": True,
    # Application logs: "json" (one object per line, with the request id) or "text".
    "LOG_FORMAT": "json",
    "LOG_LEVEL": "INFO",
    # Security events for the business's SIEM, as JSON lines (app/security_events.py,
    # docs/security.md): off, stdout, stderr, file:/path, syslog or syslog://host:port.
    "SECURITY_EVENTS": "off",
    # Bearer token a Prometheus scraper sends to /metrics (signed-in colleagues need none).
    "METRICS_TOKEN": None,
    # Optional admin single sign-on with an OpenID Connect provider (docs/admin.md).
    "OIDC_ISSUER": None,
    "OIDC_CLIENT_ID": None,
    "OIDC_CLIENT_SECRET": None,
    "OIDC_NAME": "single sign-on",
    # Email domains allowed to sign in that way (a list or comma-separated; empty: any).
    "OIDC_ALLOWED_DOMAINS": [],
    # A first sign-on creates an account with this role; None: an admin must create it.
    "OIDC_DEFAULT_ROLE": None,
    # Webhooks out (docs/webhooks.md). The delivery worker starts alongside gunicorn
    # unless ONRAMP_WEBHOOK_WORKER=false.
    "WEBHOOK_WORKER": True,
    # Host names that skip the private-address (SSRF) rules: a list, or comma-separated.
    "WEBHOOK_ALLOWED_HOSTS": [],
    # Loopback receivers; None means allowed in development only.
    "WEBHOOK_ALLOW_LOOPBACK": None,
    # Timeouts (connect, read) for each delivery; the lease must outlast them.
    "WEBHOOK_TIMEOUT": (5.0, 15.0),
    "WEBHOOK_LEASE_SECONDS": 60,
    # How long older secrets keep signing after a rotation.
    "WEBHOOK_SECRET_GRACE_SECONDS": 60 * 60 * 24,
    # The longest Retry-After honoured; longer answers are cut to this.
    "WEBHOOK_MAX_RETRY_AFTER_SECONDS": 60 * 60 * 12,
    # How long an idle worker waits before looking for due deliveries again.
    "WEBHOOK_POLL_SECONDS": 2.0,
    # JSON API (docs/api.md): the largest request body, and how close to expiry an
    # access token handed out by the credentials endpoint is refreshed first.
    "API_MAX_BODY_BYTES": 16 * 1024,
    "API_CREDENTIALS_REFRESH_LEAD_SECONDS": 5 * 60,
    # Email (receipts, reminders, fresh links): sent only when SMTP_HOST is set.
    "SMTP_HOST": None,
    "SMTP_PORT": 587,
    "SMTP_USERNAME": None,
    "SMTP_PASSWORD": None,
    # "starttls" (the default), "ssl" (implicit TLS, port 465) or "none" (a local relay).
    "SMTP_SECURITY": "starttls",
    "SMTP_TIMEOUT_SECONDS": 10.0,
    # Unset: the default journey's business, at no-reply@ the PUBLIC_URL's host.
    "MAIL_FROM": None,
    # The worker sends queued mail; a message the server keeps refusing is given up after
    # this many tries (retries double from a minute to at most six hours apart).
    "MAIL_MAX_ATTEMPTS": 8,
    # Repair emails for a connection that needs its customer (app/connections/repair.py):
    # at most this many, this far apart.
    "CONNECTION_REPAIR_REMINDERS": 3,
    "CONNECTION_REPAIR_REMINDER_SECONDS": 3 * 24 * 60 * 60,
    # The first goes out this long before a refresh token's absolute expiry (at most half
    # the time the platform gave it: NetSuite's seven days are reminded after three and a half).
    "CONNECTION_EXPIRY_REMINDER_DAYS": 14,
    # Who signed receipts and checkpoints say issued them ("iss"); PUBLIC_URL when unset.
    "CONSENT_ISSUER": None,
    # Where `flask db upgrade` connects when the tables' owner is another database role
    # than the app's (MIGRATION_DATABASE_URL, docs/database-roles.md); None: DATABASE_URL.
    "MIGRATION_DATABASE_URL": None,
    # The go-live checklist and the console's overview warn once a platform's linked
    # connections reach this share of its vendor's cap (ONRAMP_<KEY>_CONNECTION_CAP, else
    # the catalogue's figure): before the vendor refuses new ones.
    "CONNECTION_CAP_WARN_PERCENT": 80,
}


# The app.extensions entry where a mounted sandbox registers its test login (a DemoLogin),
# for `flask demo`; here, the ground both share, so that the CLI need not import the sandbox.
SANDBOX_LOGIN_KEY = "sandbox_demo_login"
# And every test login it has (TestLogins, the demo one first), each saying who it stands for.
SANDBOX_LOGINS_KEY = "sandbox_test_logins"

ROOT = Path(__file__).resolve().parent.parent


def new_app(import_name: str) -> Flask:
    """A Flask app using the repository's top-level templates/, static/ and instance/."""
    return Flask(
        import_name,
        instance_path=str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )


def configure(app: Flask, test_config: dict[str, Any] | None) -> None:
    """Layer defaults, ``ONRAMP_*`` environment variables and the test mapping."""
    app.config.from_mapping(DEFAULTS)
    app.config["JOURNEYS_DIR"] = str(Path(app.root_path).parent / "journeys")
    app.config.from_prefixed_env("ONRAMP")
    if os.environ.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
    if os.environ.get("MIGRATION_DATABASE_URL"):
        app.config["MIGRATION_DATABASE_URL"] = os.environ["MIGRATION_DATABASE_URL"]
    if os.environ.get("REDIS_URL"):
        app.config["REDIS_URL"] = os.environ["REDIS_URL"]
    if test_config:
        app.config.from_mapping(test_config)
    if "ONRAMP_PUBLIC_URL" not in os.environ and "PUBLIC_URL" not in (test_config or {}):
        running = running_server_url(server_file(app))
        if running:
            app.config["PUBLIC_URL"] = running

    app.config.setdefault(
        "SQLALCHEMY_DATABASE_URI", f"sqlite:///{Path(app.instance_path) / 'onramp.db'}"
    )
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(
        app.config["SQLALCHEMY_DATABASE_URI"]
    )
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
        # A database server may close an idle connection (a restart, a failover, a proxy's
        # idle timeout): each is checked before use, by a round trip. A SQLite file has no
        # connection to lose, and the check was a second statement on every page.
        "pool_pre_ping": not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"),
        **app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}),
    }
    if app.config["MIGRATION_DATABASE_URL"]:
        app.config["MIGRATION_DATABASE_URL"] = normalise_database_url(
            app.config["MIGRATION_DATABASE_URL"]
        )
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"] or "memory://")
    app.config["PUBLIC_URL"] = app.config["PUBLIC_URL"].rstrip("/")
    app.config["SESSION_COOKIE_SECURE"] = app.config["PUBLIC_URL"].startswith("https://")
    app.config["SANDBOX_ENABLED"] = sandbox_enabled(app.config)
    if not app.config["SANDBOX_URL"] and app.config["SANDBOX_ENABLED"]:
        app.config["SANDBOX_URL"] = app.config["PUBLIC_URL"] + "/sandbox"
    _load_secrets(app)


def server_file(app: Flask | None = None) -> Path:
    """Where a running server records its PUBLIC_URL (see ``SERVER_FILE``)."""
    configured = app.config.get("SERVER_FILE") if app else os.environ.get("ONRAMP_SERVER_FILE")
    return Path(configured) if configured else ROOT / "instance" / "server.json"


def record_server_url(path: Path, public_url: str, pid: int) -> None:
    """Say where the server of process ``pid`` is, for commands run beside it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"public_url": public_url, "pid": pid}))


def running_server_url(path: Path) -> str | None:
    """The PUBLIC_URL a server recorded, if that server is still running."""
    try:
        recorded = json.loads(path.read_text())
        pid, url = int(recorded["pid"]), str(recorded["public_url"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None  # left behind by a server that was killed
    except PermissionError:
        pass  # running, as another user
    return url if url.startswith(("http://", "https://")) else None


def sandbox_enabled(config: Mapping[str, Any]) -> bool:
    """Whether to serve the built-in Sandbox: as set, else everywhere but in production."""
    value = config.get("SANDBOX_ENABLED")
    if value is None:
        return bool(config["ENV_NAME"] != "production")
    if isinstance(value, str):
        # from_prefixed_env reads JSON spellings only: "False" or "off" would stay truthy.
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whichever spelling the URL comes in."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _load_secrets(app: Flask) -> None:
    missing = [name for name in SECRET_GENERATORS if not app.config.get(name)]
    if not missing:
        return
    if app.config["ENV_NAME"] == "production":
        names = ", ".join(f"ONRAMP_{name}" for name in missing)
        raise RuntimeError(f"Set {names} in the environment: production has no default secrets.")
    path = Path(app.instance_path) / "secrets.json"
    stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    changed = False
    for name in missing:
        if name not in stored:
            stored[name] = SECRET_GENERATORS[name]()
            changed = True
        app.config[name] = stored[name]
    if changed:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(stored, indent=2))
        path.chmod(0o600)

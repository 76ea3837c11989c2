"""Go-live readiness: is this installation ready for real customers?

Every check reads the installation's own state (configuration, journeys, database)
and says what it found and, when not ready, how to fix it. Nothing here changes
anything, so the checklist can be opened as often as wanted.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy import select
from sqlalchemy.engine import make_url

from app.engine.registry import current_journeys
from app.engine.schema import ConsentStep, Journey, PlatformSelectStep
from app.extensions import db
from app.models import (
    AuditEntry,
    Connection,
    JourneyRun,
    OutboxEvent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from app.platforms import get_platform, unavailable_reason
from app.webhooks.delivery import TEST_EVENT_TYPE

# How many of the latest pings are looked at for one that was accepted.
RECENT_PINGS = 50
# Shorter secret keys are guessable enough to forge sessions.
MIN_SECRET_KEY_LENGTH = 32
# What catalogue.unavailable_reason says when a platform's OAuth client is not configured.
NO_CREDENTIALS = "no client id and secret configured"
CONSENT_TEXTS = ("category", "purpose", "retention", "recipients")


@dataclass(frozen=True)
class Check:
    key: str
    title: str
    ready: bool
    # What was found, in a sentence or two.
    detail: str
    # What to do about it; None when ready.
    fix: str | None = None


def _ready(key: str, title: str, detail: str) -> Check:
    return Check(key, title, True, detail)


def _not_ready(key: str, title: str, detail: str, fix: str) -> Check:
    return Check(key, title, False, detail, fix)


def _offered_platforms(journeys: Mapping[str, Journey]) -> list[str]:
    offered: dict[str, None] = {}
    for journey in journeys.values():
        for step in journey.steps:
            if isinstance(step, PlatformSelectStep):
                offered.update(dict.fromkeys(step.platforms))
    return list(offered)


def platform_credentials(journeys: Mapping[str, Journey]) -> Check:
    """Every platform a journey offers can be connected here."""
    title = "Platform credentials for every platform offered"
    offered = _offered_platforms(journeys)
    if not offered:
        return _ready(
            "platforms", title, "No journey offers an accounting platform: none is needed."
        )
    missing = []
    names = []
    for key in offered:
        platform = get_platform(key)
        name = platform.name if platform is not None else key
        reason = unavailable_reason(platform) if platform is not None else "not a known platform"
        if reason is not None:
            missing.append((key, name, reason))
        names.append(name)
    if not missing:
        return _ready(
            "platforms", title, f"All offered platforms can be connected: {', '.join(names)}."
        )
    found = "; ".join(f"{name}: {reason}" for _, name, reason in missing)
    no_credentials = [key.upper() for key, _, reason in missing if reason == NO_CREDENTIALS]
    fixes = []
    if no_credentials:
        keys = ", ".join(no_credentials[:-1])
        keys = f"{keys} or {no_credentials[-1]}" if keys else no_credentials[0]
        fixes.append(
            "Register Onramp with the platform and set ONRAMP_<KEY>_CLIENT_ID and "
            f"ONRAMP_<KEY>_CLIENT_SECRET, where <KEY> is {keys} (or put them in "
            "instance/platforms.yaml), as docs/platforms/README.md describes."
        )
    if any(key == "sandbox" for key, _, _ in missing):
        fixes.append("Remove sandbox from the journeys' platform steps.")
    others = [
        name for key, name, reason in missing if key != "sandbox" and reason != NO_CREDENTIALS
    ]
    if others:
        fixes.append(f"Give {', '.join(others)} the settings docs/platforms describes.")
    return _not_ready(
        "platforms",
        title,
        f"Customers are not offered these platforms. {found}.",
        " ".join(fixes) + " Or stop offering a platform in the journeys.",
    )


def _accepted_ping(enabled: list[WebhookEndpoint]) -> tuple[AuditEntry, str] | None:
    """The latest test ping an enabled endpoint accepted (``flask webhooks test`` audits it)."""
    urls = {e.public_id: e.url for e in enabled}
    pings = db.session.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.action == TEST_EVENT_TYPE,
            AuditEntry.subject_type == "webhook_endpoint",
            AuditEntry.subject_id.in_(urls),
        )
        .order_by(AuditEntry.id.desc())
        .limit(RECENT_PINGS)
    )
    for ping in pings:
        if (ping.after or {}).get("accepted") is True and ping.subject_id is not None:
            return ping, urls[ping.subject_id]
    return None


def webhook_tested() -> Check:
    """An enabled endpoint answered 2xx to a signed test ping (or to a real signed event)."""
    title = "A webhook endpoint accepted a signed test event"
    fix = (
        "Register your receiver with “flask webhooks add --url https://…”, then send it a "
        "signed test event with “flask webhooks test ID”; the receiver must verify the "
        "signature with the endpoint's secret and answer 2xx."
    )
    endpoints = db.session.scalars(select(WebhookEndpoint)).all()
    if not endpoints:
        return _not_ready("webhooks", title, "No webhook endpoint is registered.", fix)
    enabled = [e for e in endpoints if e.status == "enabled"]
    if not enabled:
        return _not_ready("webhooks", title, "Every webhook endpoint is disabled.", fix)
    ping = _accepted_ping(enabled)
    if ping is not None:
        entry, url = ping
        return _ready(
            "webhooks",
            title,
            f"{url} accepted a signed test event on {entry.occurred_at:%Y-%m-%d %H:%M} UTC.",
        )
    # A real event delivered with its signature proves the same.
    delivered = db.session.execute(
        select(OutboxEvent.type, WebhookAttempt.attempted_at, WebhookEndpoint.url)
        .join(WebhookDelivery, WebhookAttempt.delivery_id == WebhookDelivery.id)
        .join(WebhookEndpoint, WebhookDelivery.endpoint_id == WebhookEndpoint.id)
        .join(OutboxEvent, WebhookDelivery.event_id == OutboxEvent.id)
        .where(
            WebhookEndpoint.status == "enabled",
            WebhookAttempt.status_code >= 200,
            WebhookAttempt.status_code < 300,
        )
        .order_by(WebhookAttempt.id.desc())
        .limit(1)
    ).first()
    if delivered is None:
        return _not_ready(
            "webhooks",
            title,
            f"{len(enabled)} enabled endpoint(s), but none has accepted a signed event yet.",
            fix,
        )
    event_type, at, url = delivered
    return _ready(
        "webhooks", title, f"{url} accepted a signed {event_type} event on {at:%Y-%m-%d %H:%M} UTC."
    )


def _blank_texts(journey: Journey, step: ConsentStep) -> list[str]:
    """Where a consent step leaves a text empty in one of the journey's locales."""
    blanks = []
    texts: list[tuple[str, str | dict[str, str]]] = [("decline text", step.decline_text)]
    for item in step.items:
        texts += [(f"{item.key} {name}", getattr(item, name)) for name in CONSENT_TEXTS]
    for where, value in texts:
        for locale in journey.locales:
            text = value if isinstance(value, str) else value.get(locale, "")
            if not text.strip():
                blanks.append(f"{where} ({locale})")
                if isinstance(value, str):
                    break
    return blanks


def consent_texts(journeys: Mapping[str, Journey]) -> Check:
    """Every consent item says what, why, how long and who, in every locale."""
    title = "Consent texts complete in every journey"
    problems = []
    without = []
    for journey in journeys.values():
        steps = [s for s in journey.steps if isinstance(s, ConsentStep)]
        if not steps:
            without.append(journey.id)
        for step in steps:
            blanks = _blank_texts(journey, step)
            if blanks:
                problems.append(f"{journey.id}: {', '.join(blanks)}")
    asking = len(journeys) - len(without)
    if not asking:
        return _not_ready(
            "consent",
            title,
            "No journey asks for consent.",
            "Add a consent step to the journey customers start with (docs/journeys.md).",
        )
    if problems:
        return _not_ready(
            "consent",
            title,
            "Empty consent texts: " + "; ".join(problems) + ".",
            "Fill in each item's category, purpose, retention and recipients, and the "
            "decline text, in every locale of the journey (docs/journeys.md).",
        )
    asking_ids = sorted(set(journeys) - set(without))
    detail = f"Every consent text is filled in ({', '.join(asking_ids)})."
    if without:
        names = ", ".join(sorted(without))
        detail += (
            f" No consent is asked in {names}: use {'it' if len(without) == 1 else 'them'} "
            "only for customers whose consent is already on record (reconnecting)."
        )
    return _ready("consent", title, detail)


def privacy_urls(journeys: Mapping[str, Journey]) -> Check:
    """Every journey links to the business's privacy notice."""
    title = "Privacy notice URL set in every journey"
    missing = sorted(j.id for j in journeys.values() if j.business.privacy_url is None)
    if not journeys:
        return _not_ready("privacy", title, "There are no journeys.", "Add a journey first.")
    if missing:
        return _not_ready(
            "privacy",
            title,
            f"No privacy notice URL in: {', '.join(missing)}.",
            "Set business.privacy_url in each of these journey files to your privacy notice.",
        )
    return _ready(
        "privacy",
        title,
        f"Every journey links to a privacy notice ({', '.join(sorted(journeys))}).",
    )


def branding(journeys: Mapping[str, Journey], root: Path | None) -> Check:
    """Every journey's colours meet WCAG AA contrast and its logo file is there."""
    title = "Branding contrast meets WCAG AA"
    problems = [
        f"{journey.id} {where}: {what}"
        for journey in journeys.values()
        for where, what in journey.business.brand.problems(root)
    ]
    if problems:
        return _not_ready(
            "branding",
            title,
            "; ".join(problems) + ".",
            "Choose darker or lighter colours under business.brand until every pair reaches "
            "4.5:1 (“flask journeys validate” checks them).",
        )
    return _ready("branding", title, "Every journey's colours have enough contrast.")


def sandbox_journey() -> Check:
    """Someone has been all the way through a journey, connecting the Sandbox."""
    title = "A journey completed with the Sandbox"
    run = db.session.execute(
        select(JourneyRun.journey_id, JourneyRun.completed_at)
        .join(Connection, Connection.run_id == JourneyRun.id)
        .where(
            JourneyRun.status == "completed",
            Connection.platform == "sandbox",
            Connection.linked_at.is_not(None),
        )
        .order_by(JourneyRun.completed_at.desc())
        .limit(1)
    ).first()
    if run is None:
        fix = (
            "Create a link with “flask invite --name … --email … --platform sandbox”, open it "
            "and finish the journey, signing in to the Sandbox as demo@sandbox.test "
            "(password sandbox-demo)."
        )
        if not current_app.config.get("SANDBOX_ENABLED"):
            fix = (
                "The Sandbox is off here: set ONRAMP_SANDBOX_ENABLED=true for this test and "
                f"remove it again afterwards. {fix}"
            )
        return _not_ready(
            "sandbox_run",
            title,
            "No journey has been completed with a Sandbox connection yet.",
            fix,
        )
    journey_id, completed_at = run
    when = f" on {completed_at:%Y-%m-%d}" if completed_at else ""
    return _ready("sandbox_run", title, f"The {journey_id} journey was completed{when}.")


def _generated(name: str) -> bool:
    """Whether a secret is the one development generated and kept in instance/ (config.py)."""
    path = Path(current_app.instance_path) / "secrets.json"
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    value = current_app.config.get(name)
    kept = stored.get(name) if isinstance(stored, dict) else None
    return bool(value and kept) and hmac.compare_digest(str(value).encode(), str(kept).encode())


def secret_keys() -> Check:
    """The secret key and the token encryption key come from the environment."""
    title = "Secrets set in the environment"
    generated = [name for name in ("SECRET_KEY", "TOKEN_ENCRYPTION_KEY") if _generated(name)]
    if generated:
        names = " and ".join(f"ONRAMP_{name}" for name in generated)
        return _not_ready(
            "secrets",
            title,
            f"{' and '.join(generated)} {'was' if len(generated) == 1 else 'were'} generated "
            "for development and kept in instance/secrets.json.",
            f"Set {names} in the environment from your secret store. For a new token "
            "key, list it first and the generated one after it (“NEW,OLD”) and run "
            "“flask tokens rotate-key”: tokens already stored stay readable.",
        )
    if len(str(current_app.config.get("SECRET_KEY") or "")) < MIN_SECRET_KEY_LENGTH:
        return _not_ready(
            "secrets",
            title,
            f"SECRET_KEY is shorter than {MIN_SECRET_KEY_LENGTH} characters.",
            "Set ONRAMP_SECRET_KEY to a long random value, e.g. the output of "
            "“python -c 'import secrets; print(secrets.token_urlsafe(48))'”.",
        )
    return _ready("secrets", title, "SECRET_KEY and TOKEN_ENCRYPTION_KEY are set explicitly.")


def https() -> Check:
    title = "Served over HTTPS"
    url = current_app.config["PUBLIC_URL"]
    if url.startswith("https://"):
        return _ready("https", title, f"PUBLIC_URL is {url}.")
    return _not_ready(
        "https",
        title,
        f"PUBLIC_URL is {url}: links and provider callbacks would not be encrypted.",
        "Serve Onramp behind TLS and set ONRAMP_PUBLIC_URL to its https:// address.",
    )


def secure_cookies() -> Check:
    title = "Session cookies sent over HTTPS only"
    if current_app.config.get("SESSION_COOKIE_SECURE"):
        return _ready("cookies", title, "SESSION_COOKIE_SECURE is on.")
    return _not_ready(
        "cookies",
        title,
        "SESSION_COOKIE_SECURE is off: a session cookie could travel unencrypted.",
        "It turns on by itself when ONRAMP_PUBLIC_URL starts with https://.",
    )


def database() -> Check:
    title = "A production database"
    backend = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"]).get_backend_name()
    if backend == "sqlite":
        return _not_ready(
            "database",
            title,
            "The database is SQLite: a single file, unfit for several workers.",
            "Set DATABASE_URL to a PostgreSQL database and run “flask db upgrade”.",
        )
    return _ready("database", title, f"The database is {backend}.")


def environment() -> Check:
    title = "Running as production"
    name = current_app.config["ENV_NAME"]
    if name == "production":
        return _ready("environment", title, "ENV_NAME is production.")
    return _not_ready(
        "environment",
        title,
        f"ENV_NAME is {name}: development conveniences (generated secrets) are allowed.",
        "Set ONRAMP_ENV_NAME=production.",
    )


def sandbox_off() -> Check:
    title = "The built-in Sandbox is off"
    if not current_app.config.get("SANDBOX_ENABLED"):
        return _ready("sandbox_off", title, "SANDBOX_ENABLED is off.")
    served = "The Sandbox practice platform is served at /sandbox, with a published demo login."
    if current_app.config["ENV_NAME"] == "production":
        return _not_ready(
            "sandbox_off",
            title,
            f"{served} ONRAMP_SANDBOX_ENABLED turns it on in production.",
            "Unless this is a UAT environment, remove ONRAMP_SANDBOX_ENABLED (or set it to "
            "false): production leaves the Sandbox off.",
        )
    return _not_ready(
        "sandbox_off",
        title,
        served,
        "Once a journey has been tested with it, run as production (ONRAMP_ENV_NAME="
        "production), which turns it off unless ONRAMP_SANDBOX_ENABLED is set.",
    )


def redis_configured() -> Check:
    title = "Redis configured"
    if current_app.config.get("REDIS_URL"):
        return _ready("redis", title, "REDIS_URL is set: sign-in limits hold across workers.")
    return _not_ready(
        "redis",
        title,
        "No REDIS_URL: each worker counts failed sign-ins on its own.",
        "Set REDIS_URL to a Redis server every worker can reach.",
    )


def readiness() -> list[Check]:
    """Every go-live check, in the order the checklist shows them."""
    journeys = current_journeys()
    root = Path(current_app.config["JOURNEYS_DIR"])
    checks: list[Callable[[], Check]] = [
        lambda: platform_credentials(journeys),
        webhook_tested,
        lambda: consent_texts(journeys),
        lambda: privacy_urls(journeys),
        lambda: branding(journeys, root),
        sandbox_journey,
        secret_keys,
        https,
        secure_cookies,
        database,
        environment,
        sandbox_off,
        redis_configured,
    ]
    return [check() for check in checks]

"""Certification readiness and connection caps: what each platform's vendor asks of the app.

Vendors limit an app that is not certified (Xero: a few connected organisations;
Intuit reviews apps past 500 companies) and certify it against a checklist of their
own. For every platform configured here (its credentials set), the go-live checklist
shows the linked connections beside the cap, and each certification item the
catalogue names for it (``certification.checks`` in app/platforms.yaml), worked out
from this installation: ready, or what to do. Nothing here changes anything.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect

from app.connections.lifecycle import REFRESH_LEAD
from app.connections.oauth import REQUEST_ID_HEADERS, redirect_uri
from app.extensions import db
from app.models import Connection
from app.ops.readiness import Check
from app.platforms import PLATFORMS, Platform, connection_cap, credentials, effective, setting
from app.security import NO_STORE_BLUEPRINTS, no_store_installed

# Scopes that reach no accounting data: identity and the refresh token.
IDENTITY_SCOPES = frozenset({"offline_access", "openid", "profile", "email"})
# Xero's broad transactions scope, read or write: granular read scopes replace it.
BROAD_SCOPE = "accounting.transactions"
# Where a vendor sends the customer who disconnected (or reconnects) from its side.
VENDOR_RETURN_PATHS = (("Disconnect URL", "disconnected"), ("Reconnect URL", "reconnect"))
# The areas whose pages name customers or hold tokens, as the checklist names them.
SENSITIVE_AREAS = "journey steps, the customer's page /my, receipts, the admin console and the API"


@dataclass(frozen=True)
class Cap:
    """A platform's linked connections beside the most its vendor allows."""

    platform: str
    name: str
    connections: int
    cap: int | None
    note: str | None

    @property
    def near(self) -> bool:
        """At or past the warning share of the cap (CONNECTION_CAP_WARN_PERCENT)."""
        percent = int(current_app.config["CONNECTION_CAP_WARN_PERCENT"])
        return self.cap is not None and self.connections * 100 >= self.cap * percent

    @property
    def reached(self) -> bool:
        return self.cap is not None and self.connections >= self.cap


@dataclass(frozen=True)
class Section:
    """One configured platform's part of the checklist."""

    key: str
    name: str
    cap: Cap
    items: list[Check]

    @property
    def attention(self) -> int:
        return sum(1 for item in self.items if not item.ready)


def configured_platforms() -> list[Platform]:
    """The vendors' platforms whose OAuth client is set up on this instance."""
    return [
        effective(platform)
        for key, platform in PLATFORMS.items()
        if key != "sandbox" and credentials(platform) is not None
    ]


def linked_counts() -> dict[str, int]:
    """Linked connections per platform key."""
    rows = db.session.execute(
        select(Connection.platform, func.count())
        .where(Connection.status == "linked")
        .group_by(Connection.platform)
    )
    return {platform: count for platform, count in rows}


def caps() -> list[Cap]:
    """Each configured platform's linked connections and cap."""
    counts = linked_counts()
    return [
        Cap(
            platform.key,
            platform.name,
            counts.get(platform.key, 0),
            connection_cap(platform),
            platform.certification.cap_note,
        )
        for platform in configured_platforms()
    ]


def cap_warnings() -> list[Cap]:
    """The platforms at or near their vendor's cap: admins are warned before it is reached."""
    return [cap for cap in caps() if cap.near]


def _item(platform: Platform, name: str, title: str, why: str, fix: str | None = None) -> Check:
    return Check(f"{platform.key}-{name}", title, fix is None, why, fix)


def _serves(path: str) -> bool:
    """Whether this installation answers at ``path`` (with any method)."""
    adapter = current_app.url_map.bind("localhost")
    try:
        adapter.match(path, method="GET")
    except (MethodNotAllowed, RequestRedirect):
        return True
    except NotFound:
        return False
    return True


def _hours(seconds: float) -> str:
    hours = float(seconds) / 3600
    return f"{hours:g} hour{'s' if hours != 1 else ''}"


def _public(path: str) -> str:
    return str(current_app.config["PUBLIC_URL"]).rstrip("/") + path


def app_name(platform: Platform) -> Check:
    title = f"App name does not use “{platform.name}”"
    name = setting(platform, "app_name")
    variable = f"ONRAMP_{platform.key.upper()}_APP_NAME"
    if not name:
        return _item(
            platform,
            "app_name",
            title,
            f"The app's name as registered with {platform.name} is not known here.",
            f"Set {variable} to your app's name in {platform.name}'s developer portal; "
            f"{platform.name} does not certify an app whose name contains “{platform.name}”.",
        )
    if platform.name.casefold() in name.casefold():
        return _item(
            platform,
            "app_name",
            title,
            f"The app is registered as “{name}”, which contains “{platform.name}”.",
            f"Rename the app in {platform.name}'s developer portal, then update {variable}.",
        )
    return _item(platform, "app_name", title, f"The app is registered as “{name}”.")


def read_only_scopes(platform: Platform) -> Check:
    title = "Only the scopes needed are requested"
    broad = [scope for scope in platform.scopes if scope.startswith(BROAD_SCOPE)]
    writing = [
        scope
        for scope in platform.scopes
        if scope not in IDENTITY_SCOPES and not scope.endswith(".read") and scope not in broad
    ]
    if broad or writing:
        found = [f"write access ({', '.join(writing)})"] if writing else []
        found += [f"the broad {', '.join(broad)}"] if broad else []
        return _item(
            platform,
            "read_only_scopes",
            title,
            f"Onramp asks {platform.name} for {' and '.join(found)}.",
            "Ask only for the read scopes the journeys' consent items cover: remove the "
            f"others from {platform.key}'s scopes in app/platforms.yaml.",
        )
    return _item(
        platform,
        "read_only_scopes",
        title,
        f"Read-only scopes: {', '.join(platform.scopes)}.",
    )


def connection_page(platform: Platform) -> Check:
    title = "A connection page with connect and disconnect"
    if {"account.overview", "account.disconnect"} <= set(current_app.view_functions):
        return _item(
            platform,
            "connection_page",
            title,
            f"Customers see each connected organisation's name and status at {_public('/my')}, "
            "disconnect there, and connect again from a fresh link.",
        )
    return _item(
        platform,
        "connection_page",
        title,
        "This installation serves no page where customers see and end their connections.",
        f"{platform.name} certifies only apps whose customers can see and end their "
        "connections: serve Onramp's customer page, /my.",
    )


def disconnect_in_platform(platform: Platform) -> Check:
    title = f"A disconnect made in {platform.name} is noticed"
    spec = platform.webhook
    url = _public(f"/webhooks/platforms/{platform.key}")
    if spec is not None and setting(platform, spec.secret):
        return _item(
            platform,
            "disconnect_in_platform",
            title,
            f"{platform.name}'s signed events are received at {url}: a connection ended "
            f"in {platform.name} is noticed and the customer is guided to reconnect.",
        )
    variable = f"ONRAMP_{platform.key.upper()}_{(spec.secret if spec else 'webhook_key').upper()}"
    checked_every = _hours(current_app.config["CONNECTION_HEALTH_SECONDS"])
    return _item(
        platform,
        "disconnect_in_platform",
        title,
        f"No {platform.name} webhook key: a connection ended in {platform.name} is noticed "
        f"only at its next health check, up to {checked_every} later, or when a "
        "refresh is refused; a webhook makes it the worker's next pass.",
        f"Add a webhook for {url} in {platform.name}'s developer portal, then set "
        f"{variable} to its signing key.",
    )


def offline_access(platform: Platform) -> Check:
    title = "Offline access requested"
    if "offline_access" in platform.scopes:
        return _item(
            platform,
            "offline_access",
            title,
            "offline_access is requested: connections keep working after the customer leaves.",
        )
    return _item(
        platform,
        "offline_access",
        title,
        "offline_access is not requested: no refresh token comes back, so every "
        "connection stops when its first access token expires.",
        f"Add offline_access to {platform.key}'s scopes in app/platforms.yaml.",
    )


def rate_limits(platform: Platform) -> Check:
    return _item(
        platform,
        "rate_limits",
        "Rate limits (429) handled",
        f"When {platform.name} answers 429 Too Many Requests, Onramp leaves the connection "
        "linked and tries again at the next refresh, and a health check not before the "
        "Retry-After it was given: a rate limit is never taken for a revoked connection.",
    )


def disconnect_urls(platform: Platform) -> Check:
    title = "Disconnect and Reconnect URLs"
    paths = [(label, f"/connect/{platform.key}/{end}") for label, end in VENDOR_RETURN_PATHS]
    urls = "; ".join(f"{label} {_public(path)}" for label, path in paths)
    missing = [label for label, path in paths if not _serves(path)]
    if missing:
        return _item(
            platform,
            "disconnect_urls",
            title,
            f"This version of Onramp does not serve the {' or the '.join(missing)} that "
            f"Intuit has required of every {platform.name} app since January 2026.",
            f"Upgrade Onramp to a version that serves them, then register them in your "
            f"app's settings at Intuit: {urls}.",
        )
    return _item(
        platform,
        "disconnect_urls",
        title,
        f"Served. Register them in your app's settings at Intuit: {urls}.",
    )


def request_ids(platform: Platform) -> Check:
    title = f"{platform.name}'s request ids kept"
    header = " or ".join(REQUEST_ID_HEADERS)
    without = db.session.scalar(
        select(func.count()).where(
            Connection.platform == platform.key,
            Connection.status == "linked",
            Connection.last_provider_request_id.is_(None),
        )
    )
    if without:
        return _item(
            platform,
            "request_ids",
            title,
            f"{without} linked connection(s) have no {header} yet: they were linked before "
            "Onramp kept it.",
            "Nothing to change: each is noted at the connection's next refresh "
            "(“flask connections refresh” runs one now).",
        )
    return _item(
        platform,
        "request_ids",
        title,
        f"The {header} of each token exchange, refresh and look-up is kept with its "
        "connection and shown in the customer's timeline in the console.",
    )


def refresh_when_needed(platform: Platform) -> Check:
    title = "Tokens refreshed only when needed"
    lead = int(REFRESH_LEAD.total_seconds())
    life = platform.access_token_seconds
    if life is None or lead > life:
        known = f"last {life // 60} min" if life else "last an unknown time"
        return _item(
            platform,
            "refresh_when_needed",
            title,
            f"{platform.name}'s access tokens {known}, and Onramp refreshes those expiring "
            f"within {lead // 60} min: every check would refresh.",
            f"Set access_token_seconds for {platform.key} in app/platforms.yaml to the "
            "vendor's access token life.",
        )
    return _item(
        platform,
        "refresh_when_needed",
        title,
        f"A token is refreshed only when it expires within {lead // 60} min; "
        f"{platform.name}'s access tokens last {life // 60} min.",
    )


def filtered_logs(platform: Platform) -> Check:
    title = "No provider data in logs"
    if current_app.config.get("LOG_FORMAT") == "json":
        return _item(
            platform,
            "filtered_logs",
            title,
            "Logs are JSON lines through a filter that masks tokens, authorization codes, "
            "journey links and API keys, whatever logged them.",
        )
    return _item(
        platform,
        "filtered_logs",
        title,
        f"LOG_FORMAT is {current_app.config.get('LOG_FORMAT')!r}: log lines are not "
        "filtered, so a token or code in a message would be written as it is.",
        "Set ONRAMP_LOG_FORMAT=json.",
    )


def no_store(platform: Platform) -> Check:
    title = "Sensitive pages are never cached"
    if no_store_installed(current_app):
        return _item(
            platform,
            "no_store",
            title,
            f"Cache-Control: no-store is sent on every page of {SENSITIVE_AREAS}.",
        )
    return _item(
        platform,
        "no_store",
        title,
        f"No Cache-Control: no-store rule is installed for {', '.join(NO_STORE_BLUEPRINTS)}: "
        "a browser or proxy cache could keep customers' data.",
        "Serve Onramp from its own application factory (app.create_app), which installs it.",
    )


def https_callbacks(platform: Platform) -> Check:
    title = "Callback URL uses https"
    callback = redirect_uri(platform.key)
    if callback.startswith("https://"):
        return _item(
            platform,
            "https_callbacks",
            title,
            f"Register this callback URL with {platform.name}: {callback}.",
        )
    return _item(
        platform,
        "https_callbacks",
        title,
        f"The callback URL is {callback}: {platform.name} accepts https callbacks only.",
        "Serve Onramp behind TLS and set ONRAMP_PUBLIC_URL to its https:// address.",
    )


CHECKS: dict[str, Callable[[Platform], Check]] = {
    check.__name__: check
    for check in (
        app_name,
        read_only_scopes,
        connection_page,
        disconnect_in_platform,
        offline_access,
        rate_limits,
        disconnect_urls,
        request_ids,
        refresh_when_needed,
        filtered_logs,
        no_store,
        https_callbacks,
    )
}


def certification() -> list[Section]:
    """Each configured platform's caps and certification items, in catalogue order."""
    by_key = {cap.platform: cap for cap in caps()}
    return [
        Section(
            platform.key,
            platform.name,
            by_key[platform.key],
            [CHECKS[name](platform) for name in platform.certification.checks],
        )
        for platform in configured_platforms()
    ]

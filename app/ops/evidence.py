"""The security evidence pack: what a third-party risk assessment asks, read from this installation.

One data structure (:class:`EvidencePack`) built by :func:`build` from the running app's
settings, journeys and records; ``flask security report`` prints it as Markdown or JSON and
the console's "Security evidence" page shows it, printable. Every fact is read, none is
claimed: a setting that is missing is reported as missing. Nothing secret is read out,
only whether it is set, how many there are and which algorithm uses it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from flask import current_app
from sqlalchemy import func, select

from app import clock, security_events
from app.config import ROOT
from app.consent import checkpoints, ledger_signing, verifications
from app.engine import privacy_map
from app.engine.registry import current_journeys
from app.extensions import db
from app.models import ApiKey, AuditEntry, Customer, User, WebhookEndpoint
from app.ops.certification import certification
from app.ops.readiness import readiness
from app.platforms import PLATFORMS, Platform, effective, expand, is_available
from app.webhooks import encryption, mutual_tls
from app.webhooks.endpoints import list_endpoints

ALERT_RULES = ROOT / "deploy" / "prometheus" / "onramp-alerts.yml"
SECURITY_DOC = ROOT / "docs" / "security.md"
# The hostile-input suite prints its figures at the end of a run; the last run's are
# recorded by hand in docs/security.md, with the day they were taken.
_HOSTILE_FIGURES = re.compile(
    r"on (?P<database>\w+), at this writing \((?P<date>\d{4}-\d{2}-\d{2})\): "
    r"(?P<inputs>[\d,]+) inputs tried, (?P<errors>[\d,]+) \N{MULTIPLICATION SIGN} 5xx"
)
NONE_YET = "none yet"


@dataclass(frozen=True)
class Fact:
    label: str
    value: str


@dataclass(frozen=True)
class Table:
    caption: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class Section:
    """One area of the pack: a sentence, then facts and tables read from the installation."""

    key: str
    title: str
    summary: str
    facts: tuple[Fact, ...] = ()
    tables: tuple[Table, ...] = ()


@dataclass(frozen=True)
class Answer:
    """One question of the seed's security and compliance requirements, answered, with the
    sections that hold the evidence."""

    key: str
    question: str
    answer: str
    sections: tuple[str, ...]


@dataclass(frozen=True)
class EvidencePack:
    generated_at: str
    installation: str
    answers: tuple[Answer, ...]
    sections: tuple[Section, ...]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _facts(pairs: Iterable[tuple[str, object]]) -> tuple[Fact, ...]:
    return tuple(Fact(label, str(value)) for label, value in pairs)


def _table(caption: str, rows: Sequence[dict[str, str]]) -> tuple[Table, ...]:
    """A table whose columns are the rows' keys; none when there are no rows."""
    if not rows:
        return ()
    return (Table(caption, tuple(rows[0]), tuple(tuple(row.values()) for row in rows)),)


def _count(statement: Any) -> int:
    return int(db.session.scalar(statement) or 0)


def _days(seconds: float) -> str:
    """A duration in the largest whole unit: "1 day", "8 hours", "15 minutes"."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{seconds:g} seconds"


# Webhooks


def endpoint_facts(endpoint: WebhookEndpoint) -> dict[str, str]:
    """What a risk assessment asks about one webhook endpoint: the one place per-endpoint
    protections are described (a new one, such as mutual TLS or encrypted payloads, adds
    its entry here). The URL's path and query are left out: they may carry a token."""
    url = urlsplit(endpoint.url)
    tls = mutual_tls.describe(endpoint)
    client = tls["client_certificates"]
    key = encryption.summary(endpoint)
    return {
        "Endpoint": endpoint.public_id,
        "Host": url.hostname or "",
        "Status": endpoint.status,
        "Transport": "HTTPS (TLS)" if url.scheme == "https" else "plain HTTP",
        "Signature": "HMAC-SHA256 (Standard Webhooks)",
        "Mutual TLS": (
            f"client certificate {client[0].fingerprint_sha256[:16]}…, "
            f"valid until {client[0].not_after:%Y-%m-%d}"
            + (f" (+{len(client) - 1} in overlap)" if len(client) > 1 else "")
            if client
            else "not configured"
        ),
        "Receiver's certificate": (
            f"pinned to {len(tls['pinned_ca'])} certificate(s)"
            if tls["pinned_ca"]
            else "system trust store"
        ),
        "Payload encryption": (
            f"compact JWE, {key['alg']} + {key['enc']}, {key['key_type']}, kid {key['kid'][:16]}…"
            if key
            else "none (JSON over TLS)"
        ),
        "Events": ", ".join(endpoint.event_types or ()) or "every type",
    }


def webhook_targets() -> list[privacy_map.WebhookTarget]:
    """The enabled endpoints, as the privacy map names where events go."""
    return [
        privacy_map.WebhookTarget(e.url, tuple(e.event_types or ()))
        for e in list_endpoints()
        if e.status == "enabled"
    ]


def _webhooks() -> Section:
    endpoints = list_endpoints()
    enabled = sum(1 for e in endpoints if e.status == "enabled")
    plain = sum(1 for e in endpoints if not e.url.startswith("https://"))
    with_tls = sum(1 for e in endpoints if e.client_certificates_ciphertext)
    with_jwe = sum(1 for e in endpoints if e.encryption_jwk)
    config = current_app.config
    return Section(
        "webhooks",
        "Webhooks",
        f"Signed with HMAC-SHA256 per Standard Webhooks; {len(endpoints)} endpoint(s), "
        f"{enabled} enabled; secrets encrypted at rest (Fernet: AES-128-CBC + HMAC-SHA256); "
        "mutual TLS (a client certificate, a pinned CA) and encrypted payloads (compact JWE) "
        f"per endpoint, in use on {with_tls} and {with_jwe} of them.",
        _facts(
            [
                ("Endpoints registered", len(endpoints)),
                ("Endpoints enabled", enabled),
                ("Endpoints not on HTTPS", plain),
                ("Signature", "HMAC-SHA256 over id, timestamp and body (Standard Webhooks v1)"),
                ("Secrets", "whsec_ + 32 random bytes, shown once, stored encrypted"),
                (
                    "Old secrets keep signing after a rotation for",
                    _days(config["WEBHOOK_SECRET_GRACE_SECONDS"]),
                ),
                ("Payloads", "thin: ids and statuses, never tokens or personal data"),
                ("Destinations", "checked against private addresses (SSRF) on every delivery"),
                (
                    "Mutual TLS",
                    "per endpoint: a client certificate (stored encrypted, rotated with "
                    "overlap) and a pinned CA for the receiver; a refused handshake is "
                    "recorded and retried",
                ),
                (
                    "Encrypted payloads",
                    "per endpoint: compact JWE to the receiver's public key (RSA-OAEP-256 or "
                    "ECDH-ES+A256KW, A256GCM), signed over what is sent",
                ),
            ]
        ),
        _table("Each endpoint", [endpoint_facts(e) for e in endpoints]),
    )


# Data, keys and transport


def _personal_data(journeys: dict[str, Any]) -> Section:
    hooks = webhook_targets()
    maps = [privacy_map.build(journey, hooks) for journey in journeys.values()]
    customers = _count(select(func.count()).select_from(Customer))
    erased = _count(select(func.count()).where(Customer.erased_at.is_not(None)))
    return Section(
        "personal_data",
        "Personal data: where each field lives and how it is protected",
        "Read from each journey's data map (the console's Privacy page of a journey).",
        _facts([("Customers held", customers), ("Customers erased", erased)]),
        tuple(
            Table(
                f"Held for journey {pm.journey_id}",
                ("What", "Where and how", "Kept"),
                tuple((h.what, h.how, h.kept) for h in pm.held),
            )
            for pm in maps
        )
        + tuple(
            Table(
                f"Data flows of journey {pm.journey_id}",
                ("To", "What", "How"),
                tuple((f.to, f.what, f.how) for f in pm.flows),
            )
            for pm in maps
        ),
    )


def _keys() -> Section:
    config = current_app.config
    token_keys = [k for k in str(config["TOKEN_ENCRYPTION_KEY"]).split(",") if k.strip()]
    return Section(
        "keys",
        "Encryption keys and their rotation",
        "Values are never shown: only what each key does, its algorithm and how it rotates.",
        _facts(
            [
                (
                    "TOKEN_ENCRYPTION_KEY",
                    f"{len(token_keys)} key(s) configured; Fernet (AES-128-CBC + HMAC-SHA256) "
                    "for provider tokens, PKCE verifiers, webhook secrets and customers' data "
                    "keys. Rotation: put a new key first, run `flask tokens rotate-key`, then "
                    "drop the old one.",
                ),
                (
                    "Customers' data keys",
                    "one Fernet key per customer for the personal details in consent records "
                    "and uploaded files; erasure destroys it (crypto-shredding).",
                ),
                (
                    "CONSENT_SIGNING_KEY",
                    f"Ed25519, key id {ledger_signing.key_id()}: signs receipts and ledger "
                    "checkpoints; `flask consents public-key` prints its public half.",
                ),
                (
                    "SECRET_KEY",
                    f"{'set' if config.get('SECRET_KEY') else 'missing'}: signs sessions, "
                    "CSRF tokens and journey links.",
                ),
                ("API keys", "only a SHA-256 hash of each is stored; shown once at creation"),
                ("Admin passwords", "Argon2id hashes (argon2-cffi)"),
            ]
        ),
    )


def _transport() -> Section:
    config = current_app.config
    https = config["PUBLIC_URL"].startswith("https://")
    return Section(
        "transport",
        "TLS, cookies and browser protections",
        "HTTPS is served by the reverse proxy in front of Onramp; these are Onramp's settings.",
        _facts(
            [
                ("Public address", config["PUBLIC_URL"]),
                ("HTTPS", "yes" if https else "no: the public address is plain HTTP"),
                ("HSTS", "max-age=31536000" if config["SESSION_COOKIE_SECURE"] else "off"),
                ("Session cookie Secure", config["SESSION_COOKIE_SECURE"]),
                ("Session cookie HttpOnly", config["SESSION_COOKIE_HTTPONLY"]),
                ("Session cookie SameSite", config["SESSION_COOKIE_SAMESITE"]),
                ("Session lifetime", _days(config["PERMANENT_SESSION_LIFETIME"])),
                ("Console idle sign-out", _days(config["ADMIN_IDLE_TIMEOUT_SECONDS"])),
                ("CSRF tokens valid for", _days(config["WTF_CSRF_TIME_LIMIT"])),
                (
                    "Content-Security-Policy",
                    "default-src 'self'; no inline scripts or styles; frame-ancestors 'none' "
                    "unless a journey names who may embed it",
                ),
                ("Trusted proxy hops (X-Forwarded-For)", config["TRUSTED_PROXIES"]),
                (
                    "Outgoing mail",
                    f"SMTP {config['SMTP_SECURITY']}" if config["SMTP_HOST"] else "not configured",
                ),
            ]
        ),
    )


def _retention(journeys: dict[str, Any]) -> Section:
    config = current_app.config

    def days(value: int | None) -> str:
        return f"{value} days" if value else "until the customer is erased"

    rows = [
        {
            "Journey": journey.id,
            "Consent lasts": privacy_map.consent_lasts(journey.policy),
            "Abandoned runs purged after": days(
                journey.retention.abandoned_runs_days if journey.retention else None
            ),
            "Uploads deleted after": days(
                journey.retention.uploads_days if journey.retention else None
            ),
        }
        for journey in journeys.values()
    ]
    return Section(
        "retention",
        "Retention per journey",
        "From each journey's retention and consent policy; purges run in the background "
        "worker and are audited.",
        _facts(
            [
                ("Journey links valid for", _days(config["LINK_MAX_AGE_SECONDS"])),
                (
                    "Unfinished provider sign-ins forgotten after",
                    _days(config["OAUTH_FLOW_TTL_SECONDS"]),
                ),
            ]
        ),
        _table("Retention per journey", rows),
    )


# Who connects and who signs in


def _platform_row(platform: Platform) -> dict[str, str]:
    return {
        "Platform": platform.name,
        "Hosts": ", ".join(
            sorted(
                {
                    urlsplit(expand(platform, u) or u).netloc or u
                    for u in (platform.authorize_url, platform.token_url)
                }
            )
        ),
        "OAuth 2.0": "authorization code, single-use state"
        + (", PKCE S256" if platform.pkce else ", no PKCE (the vendor has none)"),
        "Client authentication": platform.token_auth,
        "Scopes": " ".join(platform.scopes) or "none",
    }


def _configured_platforms() -> list[Platform]:
    return [effective(p) for p in PLATFORMS.values() if is_available(p)]


def _sub_processors() -> Section:
    platforms = _configured_platforms()
    config = current_app.config
    others = []
    if config["SMTP_HOST"]:
        others.append(("Mail server", config["SMTP_HOST"]))
    others.append(("Redis", "configured" if config["REDIS_URL"] else "not used"))
    return Section(
        "sub_processors",
        "Sub-processors: the configured platforms",
        f"{len(platforms)} platform(s) customers can connect here; Onramp reads from them "
        "with the customer's consent and loads nothing from third parties in the browser.",
        _facts(others),
        _table("Configured platforms", [_platform_row(p) for p in platforms]),
    )


def _authentication() -> Section:
    config = current_app.config
    users = _count(select(func.count()).where(User.active.is_(True)))
    with_password = _count(
        select(func.count()).where(User.active.is_(True), User.password_hash.is_not(None))
    )
    api_keys = _count(select(func.count()).where(ApiKey.revoked_at.is_(None)))
    sso = config.get("OIDC_ISSUER")
    return Section(
        "authentication",
        "Authentication",
        "Customers connect with OAuth 2.0 (authorization code + PKCE + state); colleagues "
        "sign in with a password or single sign-on; the business's backend with API keys.",
        _facts(
            [
                ("Customers", "a signed, expiring journey link, then OAuth 2.0 at the platform"),
                (
                    "Provider's redirect back",
                    "state bound to the browser's session, exact "
                    "redirect URI, RFC 9207 issuer checked where the platform sends it",
                ),
                ("Active console accounts", users),
                ("…with an Argon2id password", with_password),
                (
                    "Single sign-on (OpenID Connect)",
                    f"on: {urlsplit(sso).hostname}" if sso else "not configured",
                ),
                ("Second factor", "not built in: require it at the single sign-on provider"),
                (
                    "Console sessions",
                    "server-side; sign-out, a new password, a role change "
                    "or deactivation ends every copy",
                ),
                ("Password guessing", "backoff per account and per address"),
                ("Active API keys", api_keys),
            ]
        ),
        _table("OAuth per platform", [_platform_row(p) for p in _configured_platforms()]),
    )


def _regulations() -> Section:
    return Section(
        "regulations",
        "Regulations: GDPR, HIPAA",
        "GDPR: the features below exist in this installation. HIPAA: not applicable and not "
        "claimed; Onramp handles accounting data, not protected health information.",
        _facts(
            [
                (
                    "Lawful basis",
                    "consent per data category, with the exact text shown, "
                    "recorded in an append-only, hash-chained ledger (Art. 6(1)(a), 7(1))",
                ),
                (
                    "Access and portability (Art. 15, 20)",
                    "`flask customers export`; the customer's own page; signed receipts",
                ),
                (
                    "Erasure (Art. 17)",
                    "`flask customers erase`: personal details replaced, "
                    "tokens revoked, the customer's data key destroyed",
                ),
                (
                    "Withdrawal (Art. 7(3))",
                    "on the customer's page, per item; the "
                    "connection is revoked when a required item is withdrawn",
                ),
                (
                    "Storage limitation (Art. 5(1)(e))",
                    "consent expiry, purges of abandoned runs and uploads: see Retention",
                ),
                ("Impact assessment (Art. 35)", "a draft per journey on its Privacy page"),
                ("HIPAA", "not applicable, not claimed"),
            ]
        ),
    )


# Monitoring, ledger, tests, go-live


def _alert_rules(path: Path) -> list[dict[str, str]]:
    try:
        groups = yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
    except (OSError, KeyError, TypeError, yaml.YAMLError):
        return []
    return [
        {
            "Alert": rule["alert"],
            "Severity": rule.get("labels", {}).get("severity", ""),
            "For": str(rule.get("for", "")),
        }
        for group in groups
        for rule in group.get("rules", ())
        if "alert" in rule
    ]


def _monitoring() -> Section:
    config = current_app.config
    audit_entries = _count(select(func.count()).select_from(AuditEntry))
    oldest = db.session.scalar(select(func.min(AuditEntry.occurred_at)))
    rules = _alert_rules(ALERT_RULES)
    siem = str(config.get(security_events.SETTING) or "off").strip() or "off"
    return Section(
        "monitoring",
        "Logging, auditing and monitoring",
        "Logs go to standard output for the platform's collector, which decides how long "
        "they are kept; the audit log is in the database; security events go to a SIEM as "
        f"JSON lines ({siem}); Prometheus scrapes /metrics and {len(rules)} alert rules "
        "watch it.",
        _facts(
            [
                (
                    "Application log",
                    f"{config['LOG_FORMAT']} at {config['LOG_LEVEL']}, one "
                    "line per event with the request id; kept by your log collector",
                ),
                (
                    "Masked in every log line",
                    "journey links, bearer keys, OAuth codes, "
                    "states and tokens, passwords, webhook secrets, API keys",
                ),
                (
                    "Audit log",
                    f"{audit_entries} entries since {oldest.date() if oldest else NONE_YET}; "
                    "colleagues' and commands' actions, no personal data after erasure; kept "
                    "until the business deletes it",
                ),
                (
                    "Metrics",
                    "/metrics, bearer token "
                    + ("set" if config["METRICS_TOKEN"] else "not set (signed-in colleagues only)"),
                ),
                (
                    "Security events for a SIEM (ONRAMP_SECURITY_EVENTS)",
                    (
                        f"JSON lines to {siem}: failed sign-ins, refused links and platform "
                        "webhooks, tamper found by `consents verify`, every audit entry"
                        if siem != "off"
                        else "off: set stdout, file:/path or syslog to send failed sign-ins, "
                        "refused links and webhooks, tamper and audit entries to a SIEM"
                    ),
                ),
                ("Readiness probe", "/readyz"),
            ]
        ),
        _table("Alert rules (deploy/prometheus/onramp-alerts.yml)", rules),
    )


def _ledger() -> Section:
    last = verifications.last_entry()
    latest = verifications.latest()
    checkpoint = checkpoints.latest_checkpoint()
    if last is None:
        verdict = "never run here"
    else:
        after = last.after or {}
        verdict = (
            f"{'whole' if after.get('ok') else 'BROKEN'}: {after.get('records')} records, "
            f"{last.occurred_at.isoformat()}"
        )
    return Section(
        "consent_ledger",
        "Consent ledger: last verification and checkpoint",
        "`flask consents verify` walks the hash chain; `flask consents checkpoint` signs its "
        "head for safe keeping elsewhere.",
        _facts(
            [
                ("Last `consents verify`", verdict),
                (
                    "Last verified whole",
                    latest.last_success_at.isoformat() if latest.last_success_at else NONE_YET,
                ),
                (
                    "Latest signed checkpoint",
                    f"sequence {checkpoint.sequence}, {checkpoint.created_at.isoformat()}"
                    if checkpoint
                    else NONE_YET,
                ),
            ]
        ),
    )


def hostile_figures(path: Path = SECURITY_DOC) -> dict[str, str] | None:
    """The hostile-input suite's last recorded figures, as docs/security.md gives them."""
    try:
        found = _HOSTILE_FIGURES.search(path.read_text(encoding="utf-8"))
    except OSError:
        return None
    return found.groupdict() if found else None


def _hostile() -> Section:
    figures = hostile_figures()
    if figures is None:
        return Section(
            "hostile_inputs",
            "Hostile-input suite",
            "No recorded figures in this installation (docs/security.md is not here).",
        )
    return Section(
        "hostile_inputs",
        "Hostile-input suite",
        f"Last recorded run ({figures['date']}, on {figures['database']}): "
        f"{figures['inputs']} hostile inputs tried, "
        f"{figures['errors']} \N{MULTIPLICATION SIGN} 5xx.",
        _facts(
            [
                ("Recorded on", figures["date"]),
                ("Database", figures["database"]),
                ("Inputs tried", figures["inputs"]),
                ("Server errors (5xx)", figures["errors"]),
                ("Source", "docs/security.md (the suite prints its figures after each run)"),
            ]
        ),
    )


def _golive() -> Section:
    checks = readiness()
    open_items = [
        {"Item": c.title, "Found": c.detail, "What to do": c.fix or ""}
        for c in checks
        if not c.ready
    ]
    open_items += [
        {"Item": f"{p.name}: {c.title}", "Found": c.detail, "What to do": c.fix or ""}
        for p in certification()
        for c in p.items
        if not c.ready
    ]
    return Section(
        "golive",
        "Open items of the go-live checklist",
        f"{sum(1 for c in checks if c.ready)} of {len(checks)} checks ready; "
        f"{len(open_items)} open item(s).",
        (),
        _table("Open items", open_items),
    )


def _answers(pack: dict[str, Section]) -> tuple[Answer, ...]:
    return (
        Answer(
            "webhook_encryption",
            "Data encryption on webhooks (such as mTLS, HMAC)",
            pack["webhooks"].summary,
            ("webhooks", "keys", "transport"),
        ),
        Answer(
            "secure_authentication",
            "Secure authentication methods (OAuth)",
            pack["authentication"].summary,
            ("authentication", "sub_processors"),
        ),
        Answer(
            "regulations",
            "Adherence to relevant industry regulations (such as GDPR, HIPAA)",
            pack["regulations"].summary,
            ("regulations", "personal_data", "retention"),
        ),
        Answer(
            "monitoring",
            "Continuous monitoring and auditing processes to detect and respond to threats",
            pack["monitoring"].summary
            + " "
            + pack["consent_ledger"].facts[0].label
            + ": "
            + pack["consent_ledger"].facts[0].value
            + ".",
            ("monitoring", "consent_ledger", "hostile_inputs", "golive"),
        ),
        Answer(
            "data_ingestion_retention_transfer",
            "Compliant method for data ingestion, retention, and transfer",
            "Ingestion only with recorded consent through the customer's OAuth grant; "
            "retention per journey (see Retention); transfer over HTTPS, tokens and "
            "personal details encrypted at rest, webhooks signed.",
            ("personal_data", "retention", "sub_processors", "transport"),
        ),
        Answer(
            "customer_connection_auth",
            "Secure authentication method for customers to connect",
            "OAuth 2.0 authorization code with PKCE and single-use state at each platform, "
            "reached from a signed, expiring journey link.",
            ("authentication",),
        ),
    )


def build() -> EvidencePack:
    """The evidence pack of this installation, as it is now."""
    journeys = current_journeys()
    sections = (
        _webhooks(),
        _authentication(),
        _regulations(),
        _personal_data(journeys),
        _retention(journeys),
        _keys(),
        _transport(),
        _sub_processors(),
        _monitoring(),
        _ledger(),
        _hostile(),
        _golive(),
    )
    by_key = {s.key: s for s in sections}
    return EvidencePack(
        generated_at=clock.now().isoformat(),
        installation=current_app.config["PUBLIC_URL"],
        answers=_answers(by_key),
        sections=sections,
    )


def to_json(pack: EvidencePack) -> str:
    return json.dumps(pack.as_dict(), indent=2, ensure_ascii=False) + "\n"


def to_markdown(pack: EvidencePack) -> str:
    """The pack for a terminal or a document: questions first, then each section."""
    lines = [
        f"# Security evidence pack: {pack.installation}",
        "",
        f"Generated {pack.generated_at} from the installation's settings and records.",
        "",
        "## Questions and where they are answered",
        "",
    ]
    for answer in pack.answers:
        lines += [f"- **{answer.question}**: {answer.answer} (see: {', '.join(answer.sections)})"]
    for section in pack.sections:
        lines += ["", f"## {section.title}", "", section.summary, ""]
        lines += [f"- {fact.label}: {fact.value}" for fact in section.facts]
        for table in section.tables:
            lines += ["", f"**{table.caption}**", ""]
            lines += privacy_map.markdown_table(table.headers, table.rows)
    return "\n".join(lines).rstrip("\n") + "\n"

"""Security events for the business's SIEM: one JSON object per line, nothing personal.

``ONRAMP_SECURITY_EVENTS`` says where they go: ``off`` (the default), ``stdout``,
``file:/absolute/path.jsonl`` (appended to, reopened when logrotate moves it),
``syslog`` (the local ``/dev/log``) or ``syslog://host[:port]`` (UDP, 514 by default).
Python's logging handlers do the writing, so several gunicorn workers share a file or a
syslog server safely, and a destination that fails never fails the request.

Two sources: every audit entry (app/audit.py) once its transaction commits, never when
it rolls back; and refusals that change nothing, sent at once (a tampered or expired
link, a platform webhook with a bad signature). The schema is in docs/security.md
("Security events for a SIEM"); its field names follow the Elastic Common Schema's
meaning (``event.action``, ``event.outcome``, ``source.ip``).

No event carries an email address, a name, a password, a token or a link: an actor or
subject named by an email is replaced by a keyed hash (the same person, the same hash,
until SECRET_KEY changes), and of an audit entry's before/after values only a few
harmless ones are passed on (``SAFE_DETAILS``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import socket
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from logging.handlers import SysLogHandler, WatchedFileHandler
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app, g, has_app_context, has_request_context, request
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from app import clock
from app.models import AuditEntry

SETTING = "SECURITY_EVENTS"
EXTENSION_KEY = "onramp.security_events"
SCHEMA_VERSION = 1
_PENDING = "onramp.security_events.pending"

SEVERITIES = {"info": logging.INFO, "warning": logging.WARNING, "critical": logging.CRITICAL}

# Audit actions that are not plain successes: (outcome, severity).
_AUDIT_OUTCOMES = {"user.login_failed": ("failure", "warning")}
# The ledger's verdict: a broken chain is tampering, the worst news there is.
_VERIFY_ACTION = "consents.verify"

# Keys of an audit entry's before/after whose values say what happened without saying
# who: how someone signed in, a role, scopes, the ledger's verdict, names of changed fields.
SAFE_DETAILS = frozenset(
    {"via", "role", "scopes", "revoked", "changed", "ok", "records", "broken_at", "status"}
)

# A platform webhook's refusal, by the status it was answered with.
WEBHOOK_REASONS = {401: "bad_signature", 404: "not_configured", 400: "bad_body"}


@dataclass(frozen=True)
class Destination:
    handler: logging.Handler
    installation: str
    pseudonym_key: bytes


class StandardStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stdout`` (or ``sys.stderr``) is when an event is sent, not
    the one there was at start-up: a redirected or captured stream gets the events too."""

    def __init__(self, name: str) -> None:
        self.stream_name = name
        super().__init__()

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return getattr(sys, self.stream_name)

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass  # StreamHandler.__init__ sets one: the stream is looked up each time instead


def init_security_events(app: Flask) -> None:
    """Open the destination ``ONRAMP_SECURITY_EVENTS`` names; a bad value stops start-up."""
    handler = handler_for(app.config.get(SETTING))
    if handler is None:
        return
    handler.setFormatter(logging.Formatter("%(message)s"))
    app.extensions[EXTENSION_KEY] = Destination(
        handler,
        installation=urlsplit(app.config["PUBLIC_URL"]).hostname or "",
        pseudonym_key=hashlib.sha256(
            b"onramp security events\0" + str(app.config["SECRET_KEY"]).encode()
        ).digest(),
    )


def close(app: Flask) -> None:
    """Close the destination (tests build many apps in one process)."""
    destination = app.extensions.pop(EXTENSION_KEY, None)
    if destination is not None:
        destination.handler.close()


def handler_for(value: object) -> logging.Handler | None:
    """The logging handler a setting's value names; None when off."""
    if value is None or value is False:
        return None
    # Anything but a string (ONRAMP_SECURITY_EVENTS=5 reads as JSON) names nothing.
    text = value.strip() if isinstance(value, str) else repr(value)
    if text in ("off", ""):
        return None
    if text in ("stdout", "stderr"):
        return StandardStreamHandler(text)
    if text.startswith("file:"):
        return _file_handler(text.removeprefix("file:"))
    if text == "syslog" or text.startswith("syslog://"):
        return _syslog_handler(text)
    raise ValueError(
        f"ONRAMP_SECURITY_EVENTS must be off, stdout, stderr, file:/absolute/path, syslog "
        f"or syslog://host:port, not {value!r}"
    )


def _file_handler(path_text: str) -> logging.Handler:
    path = Path(path_text)
    if not path.is_absolute():
        raise ValueError(f"ONRAMP_SECURITY_EVENTS: file: needs an absolute path, not {path_text!r}")
    try:
        # Fail at start-up, not at the first event, when the file cannot be written.
        with path.open("a", encoding="utf-8"):
            pass
    except OSError as exc:
        raise ValueError(f"ONRAMP_SECURITY_EVENTS: cannot append to {path}: {exc}") from exc
    # Append mode: each worker's line lands whole after the others'; logrotate's move is
    # noticed and the file reopened.
    return WatchedFileHandler(path, mode="a", encoding="utf-8", delay=True)


def _syslog_handler(text: str) -> logging.Handler:
    address: str | tuple[str, int] = "/dev/log"
    if text != "syslog":
        parts = urlsplit(text)
        try:
            port = parts.port or 514
        except ValueError as exc:
            raise ValueError(f"ONRAMP_SECURITY_EVENTS: a bad port in {text!r}") from exc
        if not parts.hostname or parts.path not in ("", "/"):
            raise ValueError(f"ONRAMP_SECURITY_EVENTS: syslog://host:port, not {text!r}")
        address = (parts.hostname, port)
    try:
        handler = SysLogHandler(address, SysLogHandler.LOG_AUTH, socket.SOCK_DGRAM)
    except OSError as exc:
        raise ValueError(f"ONRAMP_SECURITY_EVENTS: cannot reach syslog at {text}: {exc}") from exc
    handler.ident = "onramp: "
    handler.append_nul = False
    return handler


def emit(
    name: str,
    outcome: str,
    *,
    severity: str = "warning",
    actor: tuple[str, str | None] | None = None,
    subject: tuple[str, str | None] | None = None,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Send one security event now (refusals that write nothing); nothing when off."""
    destination = _destination()
    if destination is not None:
        _send(
            destination,
            _event(destination, name, outcome, severity, actor, subject, reason, details),
        )


def link_refused(link: str, reason: str) -> None:
    """A journey or manage link refused: tampered (invalid), expired, or naming nothing."""
    emit("link.refused", "failure", subject=(link, None), reason=reason)


def platform_webhook_refused(platform: str, status: int) -> None:
    """A platform's webhook refused (bad signature, not configured, unreadable body)."""
    emit(
        "platform_webhook.refused",
        "failure",
        subject=("platform", platform),
        reason=WEBHOOK_REASONS.get(status, "refused"),
        details={"status": status},
    )


def _destination() -> Destination | None:
    if not has_app_context():
        return None
    destination: Destination | None = current_app.extensions.get(EXTENSION_KEY)
    return destination


def _event(
    destination: Destination,
    name: str,
    outcome: str,
    severity: str,
    actor: tuple[str, str | None] | None,
    subject: tuple[str, str | None] | None,
    reason: str | None,
    details: dict[str, Any] | None,
    at: datetime | None = None,
    audit_id: int | None = None,
) -> dict[str, Any]:
    """One event in the documented schema (docs/security.md), every key always present."""
    at = at or clock.now()
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    in_request = has_request_context()
    return {
        "schema": SCHEMA_VERSION,
        "time": at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "event": name,
        "category": "audit" if audit_id is not None else "security",
        "outcome": outcome,
        "severity": severity,
        "actor": _party(destination, actor),
        "subject": _party(destination, subject),
        "reason": reason,
        "details": details or {},
        "audit_id": audit_id,
        "source_ip": request.remote_addr if in_request else None,
        "request_id": g.get("request_id") if in_request else None,
        "installation": destination.installation,
    }


def _party(destination: Destination, party: tuple[str, str | None] | None) -> Any:
    if party is None:
        return None
    kind, ident = party
    return {"type": kind, "id": _pseudonymous(destination, ident)}


def _pseudonymous(destination: Destination, ident: str | None) -> str | None:
    """An email address becomes a keyed hash: the SIEM can follow one account's events
    without learning who it is (the console's audit log, by ``audit_id``, says)."""
    if ident is None or "@" not in ident:
        return ident
    digest = hmac.new(destination.pseudonym_key, ident.lower().encode(), hashlib.sha256)
    return "hmac-sha256:" + digest.hexdigest()[:32]


def _safe(values: dict[str, Any] | None) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    for key, value in (values or {}).items():
        if key not in SAFE_DETAILS:
            continue
        items = value if isinstance(value, list) else [value]
        if all(isinstance(v, bool | int | str) and "@" not in str(v) for v in items):
            kept[key] = value
    return kept


def _audit_event(destination: Destination, entry: AuditEntry) -> dict[str, Any]:
    outcome, severity = _AUDIT_OUTCOMES.get(entry.action, ("success", "info"))
    if entry.action == _VERIFY_ACTION and not (entry.after or {}).get("ok"):
        outcome, severity = "failure", "critical"
    details = {
        side: kept
        for side, values in (("before", entry.before), ("after", entry.after))
        if (kept := _safe(values))
    }
    subject = (entry.subject_type, entry.subject_id) if entry.subject_type else None
    return _event(
        destination,
        entry.action,
        outcome,
        severity,
        (entry.actor_type, entry.actor_id),
        subject,
        None,
        details,
        at=entry.occurred_at,
        audit_id=entry.id,
    )


def _send(destination: Destination, data: dict[str, Any]) -> None:
    level = SEVERITIES.get(data["severity"], logging.WARNING)
    record = logging.makeLogRecord(
        {
            "name": "onramp.security",
            "levelno": level,
            "levelname": logging.getLevelName(level),
            "msg": json.dumps(data, separators=(",", ":"), ensure_ascii=False),
        }
    )
    destination.handler.handle(record)


@event.listens_for(Session, "after_flush")
def _note_audit_entries(session: Session, _context: Any) -> None:
    """Audit entries just written, held until their transaction's end says whether they stay."""
    destination = _destination()
    if destination is None:
        return
    for entry in session.new:
        if isinstance(entry, AuditEntry):
            pending = session.info.setdefault(_PENDING, [])
            pending.append((entry, _audit_event(destination, entry)))


@event.listens_for(Session, "after_commit")
def _send_committed(session: Session) -> None:
    pending = session.info.pop(_PENDING, [])
    destination = _destination()
    if destination is None:
        return
    for _entry, data in pending:
        _send(destination, data)


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, _previous: Any) -> None:
    """Forget the entries a rollback undid (all of them, or a savepoint's): by now they are
    no longer persistent, while those written before a savepoint still are."""
    pending = session.info.pop(_PENDING, [])
    if kept := [(entry, data) for entry, data in pending if inspect(entry).persistent]:
        session.info[_PENDING] = kept

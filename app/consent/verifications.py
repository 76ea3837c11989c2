"""What the last ``flask consents verify`` found, kept where a Prometheus scrape can read it.

The command runs on a schedule (a cron job or timer, often on another machine), so its
verdict is noted in the audit log, with the change-free ledger it describes; ``/metrics``
then exports the latest verdict as gauges that the alert rules watch
(deploy/prometheus/onramp-alerts.yml, docs/operations.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select

from app import audit
from app.consent.chain import Verification
from app.extensions import db
from app.models import AuditEntry

ACTION = "consents.verify"


@dataclass(frozen=True)
class LastVerifications:
    # None when the chain has never been verified here.
    last_ok: bool | None
    # When the chain last verified whole; None when it never has.
    last_success_at: datetime | None


def note(result: Verification, how: str) -> None:
    """Add the verdict of one walk of the chain to the audit log (the caller commits)."""
    after: dict[str, object] = {"ok": result.ok, "records": result.records}
    if result.problem is not None:
        after["broken_at"] = result.problem.sequence
    audit.record("cli", how, ACTION, "consent_ledger", str(result.records), after=after)


def _entries() -> Select[AuditEntry]:
    return select(AuditEntry).where(AuditEntry.action == ACTION).order_by(AuditEntry.id.desc())


def last_entry() -> AuditEntry | None:
    """The audit entry of the last verification (``after``: ok, records, broken_at)."""
    return db.session.scalars(_entries().limit(1)).first()


def latest() -> LastVerifications:
    """The last verdict, and when the chain last verified whole."""
    entries = _entries()
    last = last_entry()
    if last is None:
        return LastVerifications(None, None)
    last_ok = bool((last.after or {}).get("ok"))
    if last_ok:
        return LastVerifications(True, last.occurred_at)
    # The JSON column can't be filtered the same way on SQLite and PostgreSQL: the broken
    # runs before a success are few (each pages someone), so they are read and skipped.
    for entry in db.session.scalars(entries.where(AuditEntry.id < last.id)):
        if (entry.after or {}).get("ok"):
            return LastVerifications(False, entry.occurred_at)
    return LastVerifications(False, None)

"""Reading the audit log back: who did what to what, filtered."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, func, select

from app.models import AuditEntry
from app.queries import within_days


@dataclass(frozen=True)
class AuditFilter:
    # Part of the actor's id (an email, a key prefix, ...), any case.
    actor: str | None = None
    # An action ("customer.note_added"), or its area ("customer." or "customer").
    action: str | None = None
    subject_type: str | None = None
    subject_id: str | None = None
    # Whole days in UTC, both included.
    occurred_from: date | None = None
    occurred_to: date | None = None

    def as_params(self) -> dict[str, str]:
        names = {"occurred_from": "date_from", "occurred_to": "date_to"}
        return {names.get(k, k): str(v) for k, v in asdict(self).items() if v}


def audit_query(criteria: AuditFilter) -> Select[Any]:
    """The audit entries matching ``criteria``, for a page (see admin.keyset)."""
    query = select(AuditEntry)
    if criteria.actor:
        query = query.where(
            func.lower(AuditEntry.actor_id).contains(criteria.actor.lower(), autoescape=True)
        )
    if criteria.action:
        area = criteria.action.rstrip(".")
        query = query.where(
            (AuditEntry.action == criteria.action)
            | AuditEntry.action.startswith(area + ".", autoescape=True)
        )
    if criteria.subject_type:
        query = query.where(AuditEntry.subject_type == criteria.subject_type)
    if criteria.subject_id:
        query = query.where(AuditEntry.subject_id == criteria.subject_id)
    return within_days(query, AuditEntry.occurred_at, criteria.occurred_from, criteria.occurred_to)

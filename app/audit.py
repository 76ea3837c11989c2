"""The audit trail: who did what to what, and when. Entries are only ever added."""

from __future__ import annotations

from typing import Any

from app.extensions import db
from app.models import AuditEntry


def record(
    actor_type: str,
    actor_id: str,
    action: str,
    subject_type: str | None = None,
    subject_id: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """Add an entry to the caller's transaction: it lands with the change it describes.

    Never pass tokens or secrets in ``before``/``after``.
    """
    entry = AuditEntry(
        actor_type=actor_type,
        actor_id=actor_id,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        before=before,
        after=after,
    )
    db.session.add(entry)
    return entry

"""Customers: the businesses a journey link is sent to."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import delete, inspect, or_, select

from app import audit, clock
from app.connections import uploads
from app.connections.lifecycle import disconnect
from app.consent.personal import destroy_key
from app.customers import journey_links
from app.extensions import db
from app.models import (
    AuditEntry,
    Connection,
    ConsentReceipt,
    ConsentRecord,
    Customer,
    CustomerNote,
    Delegation,
    IdempotencyRecord,
    JourneyEvent,
    JourneyFeedback,
    JourneyLink,
    JourneyRun,
    OAuthFlow,
    OutboxEvent,
    Upload,
)

# What an erased customer is called from then on.
ERASED_NAME = "Erased customer"
ERASED_EMAIL = "erased@invalid"
ERASED = "[erased]"


def create_customer(name: str, email: str, external_id: str | None = None) -> Customer:
    customer = Customer(name=name.strip(), email=email.strip().lower(), external_id=external_id)
    db.session.add(customer)
    db.session.commit()
    return customer


def find_by_external_id(external_id: str) -> Customer | None:
    return db.session.scalars(select(Customer).where(Customer.external_id == external_id)).first()


def find_by_public_id(public_id: str) -> Customer | None:
    return db.session.scalars(select(Customer).where(Customer.public_id == public_id)).first()


# Columns never handed out, even to the customer: credentials and internal bookkeeping.
SECRET_COLUMNS = {
    "token_ciphertext",
    "refresh_claimed_until",
    "token_version",
    # An uploaded file's bytes: the export lists the files (name, kind, size, checksum).
    "content_ciphertext",
    # A delegated link's secret, hashed: of no use to the customer.
    "token_sha256",
}


def _row(obj: Any) -> dict[str, Any]:
    values = {}
    for column in inspect(obj).mapper.column_attrs:
        if column.key in SECRET_COLUMNS or column.key == "id":
            continue
        value = getattr(obj, column.key)
        values[column.key] = value.isoformat() if isinstance(value, datetime) else value
    return values


def _all(model: Any, *where: Any) -> list[dict[str, Any]]:
    return [_row(obj) for obj in db.session.scalars(select(model).where(*where).order_by(model.id))]


def export_customer(customer: Customer) -> dict[str, Any]:
    """Everything held about a customer, for an access request (GDPR Art. 15).

    Provider tokens are left out: they are credentials, not information about the person.
    """
    run_ids = select(JourneyRun.id).where(JourneyRun.customer_id == customer.id)
    connection_ids = select(Connection.public_id).where(Connection.customer_id == customer.id)
    return {
        "exported_at": clock.now().isoformat(),
        "customer": _row(customer),
        "journey_runs": _all(JourneyRun, JourneyRun.customer_id == customer.id),
        "journey_events": _all(JourneyEvent, JourneyEvent.run_id.in_(run_ids)),
        "journey_feedback": _all(JourneyFeedback, JourneyFeedback.customer_id == customer.id),
        "consent_records": _all(ConsentRecord, ConsentRecord.customer_id == customer.id),
        "connections": _all(Connection, Connection.customer_id == customer.id),
        "uploads": _all(Upload, Upload.customer_id == customer.id),
        "delegations": _all(Delegation, Delegation.customer_id == customer.id),
        "journey_links": _all(JourneyLink, JourneyLink.customer_id == customer.id),
        "notes": _all(CustomerNote, CustomerNote.customer_id == customer.id),
        "events_sent_to_the_business": _all(OutboxEvent, OutboxEvent.customer_id == customer.id),
        "audit_log": _all(
            AuditEntry,
            or_(
                (AuditEntry.subject_type == "customer")
                & (AuditEntry.subject_id.in_([customer.public_id, customer.external_id or ""])),
                (AuditEntry.subject_type == "connection")
                & AuditEntry.subject_id.in_(connection_ids),
            ),
        ),
    }


def _about(customer: Customer) -> Any:
    """The audit entries about a customer, their connections, runs or consent records."""
    ids = [customer.public_id] + ([customer.external_id] if customer.external_id else [])
    connections = select(Connection.public_id).where(Connection.customer_id == customer.id)
    runs = select(JourneyRun.public_id).where(JourneyRun.customer_id == customer.id)
    records = select(ConsentRecord.public_id).where(ConsentRecord.customer_id == customer.id)
    return or_(
        (AuditEntry.subject_type == "customer") & AuditEntry.subject_id.in_(ids),
        (AuditEntry.subject_type == "connection") & AuditEntry.subject_id.in_(connections),
        (AuditEntry.subject_type == "run") & AuditEntry.subject_id.in_(runs),
        (AuditEntry.subject_type == "consent") & AuditEntry.subject_id.in_(records),
    )


def _scrub(value: Any, personal: set[str]) -> Any:
    """``value`` with every personal string in it replaced, however deep in lists and dicts."""
    if isinstance(value, str):
        for needle in personal:
            value = value.replace(needle, ERASED)
        return value
    if isinstance(value, list):
        return [_scrub(item, personal) for item in value]
    if isinstance(value, dict):
        return {key: _scrub(item, personal) for key, item in value.items()}
    return value


def _personal_values(customer: Customer, connections: list[Connection]) -> set[str]:
    values = {customer.name, customer.email, customer.external_id or ""}
    for connection in connections:
        values.add(connection.org_name or "")
        values.update(c.get("name", "") for c in connection.candidates or [])
    # Very short values would scrub innocent text; nobody is identified by two letters.
    return {value for value in values if len(value) >= 3}


def erase_customer(customer: Customer, actor: str, actor_type: str = "cli") -> dict[str, int]:
    """Remove a customer's personal data and tokens; keep the consent ledger provable.

    Connections are disconnected (tokens revoked at the platform), the customer's data
    key is destroyed (the personal details kept with their consent records become
    unreadable, while the records and the hash chain stay as they were) and every
    other personal value is deleted or replaced. Erasing again changes nothing more.
    Returns counts for the report; commits.
    """
    connections = list(
        db.session.scalars(select(Connection).where(Connection.customer_id == customer.id))
    )
    personal = _personal_values(customer, connections)
    disconnected = 0
    for connection in connections:
        if connection.status != "disconnected":
            disconnect(connection)  # revokes at the platform; commits
            disconnected += 1
    run_ids = select(JourneyRun.id).where(JourneyRun.customer_id == customer.id)
    connection_ids = select(Connection.id).where(Connection.customer_id == customer.id)

    files = uploads.erase(customer)
    destroy_key(customer)
    customer.name, customer.email, customer.external_id = ERASED_NAME, ERASED_EMAIL, None
    customer.erased_at = customer.erased_at or clock.now()
    for run in db.session.scalars(select(JourneyRun).where(JourneyRun.customer_id == customer.id)):
        run.answers, run.return_url = {}, None
    db.session.execute(
        JourneyEvent.__table__.update().where(JourneyEvent.run_id.in_(run_ids)).values(detail=None)
    )
    # The rating stays in the funnel's figures; the comment was the customer's own words.
    db.session.execute(
        JourneyFeedback.__table__.update()
        .where(JourneyFeedback.customer_id == customer.id)
        .values(comment=None)
    )
    for connection in connections:
        connection.org_name = connection.candidates = connection.last_error_detail = None
        connection.provider_user = None  # the platform login: an email, often
    db.session.execute(delete(OAuthFlow).where(OAuthFlow.connection_id.in_(connection_ids)))
    # A link to connect for them must not outlive them (its name and email are unreadable
    # already: they were encrypted with the key just destroyed).
    db.session.execute(
        Delegation.__table__.update()
        .where(
            Delegation.customer_id == customer.id,
            Delegation.revoked_at.is_(None),
            Delegation.completed_at.is_(None),
        )
        .values(revoked_at=clock.now(), revoked_by="erasure")
    )
    notes = db.session.execute(delete(CustomerNote).where(CustomerNote.customer_id == customer.id))
    # The links made for them (where they were emailed, who opened what) go too; a link
    # still out there names no record any more and opens nothing.
    journey_links.erase(customer)
    db.session.execute(
        ConsentReceipt.__table__.update()
        .where(ConsentReceipt.customer_id == customer.id)
        .values(jws_ciphertext=None)
    )
    for event in db.session.scalars(
        select(OutboxEvent).where(OutboxEvent.customer_id == customer.id)
    ):
        data = {key: value for key, value in event.data.items() if key != "external_id"}
        event.data = _scrub(data, personal)
    for entry in db.session.scalars(select(AuditEntry).where(_about(customer))):
        if entry.subject_type == "customer":
            entry.subject_id = customer.public_id
        entry.before, entry.after = _scrub(entry.before, personal), _scrub(entry.after, personal)
    replays = _forget_replays(personal | {customer.public_id})
    audit.record(
        actor_type,
        actor,
        "customer.erase",
        "customer",
        customer.public_id,
        after={
            "connections_disconnected": disconnected,
            "notes_deleted": notes.rowcount,  # type: ignore[attr-defined]
            "uploads_deleted": files,
        },
    )
    db.session.commit()
    return {
        "connections": disconnected,
        "notes": notes.rowcount,  # type: ignore[attr-defined]
        "replays": replays,
        "uploads": files,
    }


def _forget_replays(personal: set[str]) -> int:
    """Delete the stored API answers (kept for Idempotency-Key replays) that name the customer."""
    doomed = [
        record.id
        for record in db.session.scalars(select(IdempotencyRecord))
        if record.response_body
        and any(value in json.dumps(record.response_body, ensure_ascii=False) for value in personal)
    ]
    if doomed:
        db.session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id.in_(doomed)))
    return len(doomed)

"""Customers: the businesses a journey link is sent to."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import inspect, or_, select

from app.extensions import db
from app.models import (
    AuditEntry,
    Connection,
    ConsentRecord,
    Customer,
    CustomerNote,
    JourneyEvent,
    JourneyRun,
    OutboxEvent,
    utcnow,
)


def create_customer(name: str, email: str, external_id: str | None = None) -> Customer:
    customer = Customer(name=name.strip(), email=email.strip().lower(), external_id=external_id)
    db.session.add(customer)
    db.session.commit()
    return customer


def find_by_external_id(external_id: str) -> Customer | None:
    return db.session.scalars(select(Customer).where(Customer.external_id == external_id)).first()


# Columns never handed out, even to the customer: credentials and internal bookkeeping.
SECRET_COLUMNS = {"token_ciphertext", "refresh_claimed_until", "token_version"}


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
        "exported_at": utcnow().isoformat(),
        "customer": _row(customer),
        "journey_runs": _all(JourneyRun, JourneyRun.customer_id == customer.id),
        "journey_events": _all(JourneyEvent, JourneyEvent.run_id.in_(run_ids)),
        "consent_records": _all(ConsentRecord, ConsentRecord.customer_id == customer.id),
        "connections": _all(Connection, Connection.customer_id == customer.id),
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

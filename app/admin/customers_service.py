"""What support colleagues do for a customer: find them, send a link, disconnect, note.

Every change is written to the audit log in the transaction that makes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Select, func, or_, select

from app import audit, clock
from app.connections import lifecycle
from app.connections.authorization import RECONNECT_JOURNEY
from app.customers import standing
from app.engine.registry import current_journeys, get_journey
from app.extensions import db
from app.links import journey_link
from app.models import Connection, Customer, CustomerNote, JourneyRun
from app.platforms import get_platform

# Connections with tokens to revoke and forget; others have nothing left to disconnect.
DISCONNECTABLE = ("linked", "deauthorized")


@dataclass(frozen=True)
class NewLink:
    url: str
    journey_id: str
    expires_at: datetime
    reconnects: Connection | None = None


def search(text: str) -> Select[Any]:
    """Customers whose name, email or external id contains ``text`` (any case)."""
    query = select(Customer)
    words = text.strip().lower()
    if words:
        query = query.where(
            or_(
                func.lower(Customer.name).contains(words, autoescape=True),
                func.lower(Customer.email).contains(words, autoescape=True),
                func.lower(Customer.external_id).contains(words, autoescape=True),
            )
        )
    return query


def in_state(query: Select[Any], state: str) -> Select[Any]:
    """``query`` (customers) kept to those in ``state`` (see app.customers.standing); the
    overview counts the same rows."""
    return standing.narrow(query, state) if state else query


def find_customer(public_id: str) -> Customer | None:
    return db.session.scalars(select(Customer).where(Customer.public_id == public_id)).first()


def connections_of(customer: Customer) -> list[Connection]:
    """The customer's connections, newest first."""
    return list(
        db.session.scalars(
            select(Connection)
            .where(Connection.customer_id == customer.id)
            .order_by(Connection.id.desc())
        )
    )


def find_connection(customer: Customer, public_id: str) -> Connection | None:
    return db.session.scalars(
        select(Connection).where(
            Connection.public_id == public_id, Connection.customer_id == customer.id
        )
    ).first()


def platform_name(connection: Connection) -> str:
    platform = get_platform(connection.platform)
    return platform.name if platform is not None else connection.platform


def journey_choices() -> list[tuple[str, str]]:
    return [(j.id, f"{j.name} ({j.id})") for j in current_journeys().values()]


def usual_journey(customer: Customer) -> str | None:
    """The journey a new link for ``customer`` should open unless told otherwise: the one
    of their latest run (a reconnect run aside: that one is made per connection)."""
    latest = db.session.scalars(
        select(JourneyRun.journey_id)
        .where(JourneyRun.customer_id == customer.id, JourneyRun.journey_id != RECONNECT_JOURNEY)
        .order_by(JourneyRun.id.desc())
        .limit(1)
    ).first()
    return latest if latest in current_journeys() else None


def create_link(
    customer: Customer, journey_id: str, actor: str, reconnects: Connection | None = None
) -> NewLink:
    """A fresh journey link for the customer (or to re-authorize ``reconnects``); audited.

    The link itself is a credential: it is shown once and never stored or logged.
    """
    if get_journey(journey_id) is None:
        raise ValueError(f"no journey {journey_id!r}")
    url = journey_link(
        customer.public_id,
        journey_id,
        reconnect=reconnects.public_id if reconnects is not None else None,
    )
    expires_at = clock.now() + timedelta(seconds=current_app.config["LINK_MAX_AGE_SECONDS"])
    after: dict[str, Any] = {"journey_id": journey_id, "expires_at": expires_at.isoformat()}
    if reconnects is not None:
        after["reconnects"] = reconnects.public_id
    audit.record(
        "user",
        actor,
        "customer.link_created",
        "customer",
        customer.public_id,
        None,
        after,
    )
    db.session.commit()
    return NewLink(url, journey_id, expires_at, reconnects)


def disconnect(connection: Connection, actor: str) -> bool | None:
    """Disconnect a connection at the business's request; audited.

    Returns whether the provider confirmed the revocation, or None when there was
    nothing to disconnect (already ended, or never linked).
    """
    if connection.status not in DISCONNECTABLE:
        return None
    return lifecycle.disconnect_audited(connection, "user", actor)


def add_note(customer: Customer, body: str, author_id: int, actor: str) -> CustomerNote:
    """Keep an internal note about the customer; audited (the entry names the note)."""
    note = CustomerNote(customer_id=customer.id, author_id=author_id, body=body.strip())
    db.session.add(note)
    db.session.flush()
    audit.record(
        "user",
        actor,
        "customer.note_added",
        "customer",
        customer.public_id,
        None,
        {"note_id": note.id},
    )
    db.session.commit()
    return note

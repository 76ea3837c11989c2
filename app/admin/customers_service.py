"""What support colleagues do for a customer: find them, add one, send a link (and revoke
or reissue it), assign, disconnect, note.

Every change is written to the audit log in the transaction that makes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.exc import IntegrityError

from app import audit
from app.admin.scope import current_scope, visible
from app.connections import lifecycle
from app.connections.authorization import RECONNECT_JOURNEY
from app.customers import journey_links, standing
from app.engine.registry import current_journeys
from app.extensions import db
from app.models import Connection, Customer, CustomerNote, JourneyLink, JourneyRun, User
from app.platforms import get_platform

# Connections with tokens to revoke and forget; others have nothing left to disconnect.
DISCONNECTABLE = ("linked", "deauthorized")


@dataclass(frozen=True)
class NewLink:
    url: str
    journey_id: str
    expires_at: datetime
    reconnects: Connection | None = None
    # Where it was emailed (None: shown to copy instead).
    sent_to: str | None = None


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


# The customers list's "Assigned to" filter: anyone (no filter), me, nobody.
ASSIGNED_FILTERS = ("", "me", "nobody")


def narrowed(query: Select[Any], assigned: str, me: int) -> Select[Any]:
    """``query`` (a select of customers) filtered by whom they are assigned to, and
    limited to the customers the signed-in colleague may see."""
    if assigned == "me":
        query = query.where(Customer.assigned_user_id == me)
    elif assigned == "nobody":
        query = query.where(Customer.assigned_user_id.is_(None))
    return visible(query)


def assignee_emails(customers: list[Customer]) -> dict[int, str]:
    """The email of the colleague each listed customer is assigned to, by user id."""
    ids = {c.assigned_user_id for c in customers if c.assigned_user_id is not None}
    if not ids:
        return {}
    rows = db.session.execute(select(User.id, User.email).where(User.id.in_(ids)))
    return {user_id: email for user_id, email in rows}


def colleague_choices(me: int) -> list[tuple[str, str]]:
    """Whom a customer may be assigned to: active colleagues (only oneself for a colleague
    who sees only their own customers), by email; the value is the user id."""
    query = select(User.id, User.email).where(User.active.is_(True)).order_by(User.email)
    if current_scope().restricted:
        query = query.where(User.id == me)
    return [(str(user_id), email) for user_id, email in db.session.execute(query)]


def _assignee(user_id: int | None) -> str:
    user = db.session.get(User, user_id) if user_id is not None else None
    return user.email if user is not None else "nobody"


def assign(customer: Customer, user_id: int | None, actor: str) -> bool:
    """Assign the customer to the colleague ``user_id`` (None: to nobody); audited.

    Returns whether anything changed.
    """
    if customer.assigned_user_id == user_id:
        return False
    before = {"assigned_to": _assignee(customer.assigned_user_id)}
    customer.assigned_user_id = user_id
    audit.record(
        "user",
        actor,
        "customer.assign",
        "customer",
        customer.public_id,
        before,
        {"assigned_to": _assignee(user_id)},
    )
    db.session.commit()
    return True


class CustomerTaken(ValueError):
    """Another customer already has this external id."""


def external_id_taken(external_id: str) -> bool:
    return (
        db.session.scalar(select(Customer.id).where(Customer.external_id == external_id))
        is not None
    )


def add_customer(
    name: str,
    email: str,
    external_id: str | None,
    journey_id: str,
    actor: str,
    assign_to: int | None = None,
    *,
    send: bool = False,
    single_use: bool = False,
) -> tuple[Customer, NewLink]:
    """Add a customer from the console and create their first journey link; audited.

    Raises CustomerTaken when another customer has the external id (even one added a
    moment ago by someone else).
    """
    customer = Customer(
        name=name.strip(),
        email=email.strip().lower(),
        external_id=external_id or None,
        assigned_user_id=assign_to,
    )
    db.session.add(customer)
    try:
        db.session.flush()
    except IntegrityError as exc:
        db.session.rollback()
        raise CustomerTaken(external_id) from exc
    # Which fields were set, not their values: the audit trail holds no personal data.
    after: dict[str, Any] = {"changed": ["name", "email"], "assigned_to": _assignee(assign_to)}
    if customer.external_id:
        after["changed"].append("external_id")
    audit.record("user", actor, "customer.create", "customer", customer.public_id, None, after)
    return customer, create_link(customer, journey_id, actor, send=send, single_use=single_use)


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


def mail_to(customer: Customer) -> str | None:
    """The address a new link can be emailed to from here; None when it cannot be."""
    return customer.email if journey_links.can_email(customer) else None


def create_link(
    customer: Customer,
    journey_id: str,
    actor: str,
    reconnects: Connection | None = None,
    *,
    send: bool = False,
    single_use: bool = False,
) -> NewLink:
    """A fresh journey link for the customer (or to re-authorize ``reconnects``), emailed
    to them with ``send``; kept as a record (app/customers/journey_links.py) and audited.

    The link itself is a credential: it is shown once and never stored or logged.
    Raises NotSendable when ``send`` is asked and mail cannot be sent.
    """
    options = journey_links.Options(
        journey_id=journey_id,
        expires_at=journey_links.default_expiry(),
        reconnects=reconnects,
        single_use=single_use,
    )
    made = journey_links.create(customer, options, actor_type="user", actor_id=actor, send=send)
    return _new_link(made)


def _new_link(made: journey_links.Made) -> NewLink:
    return NewLink(
        made.url,
        made.link.journey_id,
        made.link.expires_at,
        made.link.connection,
        sent_to=made.link.sent_to,
    )


def links_of(customer: Customer) -> list[dict[str, Any]]:
    """The customer's kept links, newest first, as the Links section shows them."""
    return [
        {
            "public_id": link.public_id,
            "journey": journey_links.journey_name(link),
            "made_by": link.actor_id if link.actor_type == "user" else f"API key {link.actor_id}",
            "created_at": link.created_at,
            "expires_at": link.expires_at,
            "sent_to": link.sent_to,
            "single_use": link.single_use,
            "reconnects": link.connection_id is not None,
            "state": journey_links.state(link),
            "live": journey_links.is_live(link),
            "replaced": link.replaced_by is not None,
        }
        for link in journey_links.for_customer(customer)
    ]


def find_link(customer: Customer, public_id: str) -> JourneyLink | None:
    return journey_links.by_public_id(public_id, customer)


def revoke_link(link: JourneyLink, actor: str) -> bool:
    """Stop a kept link at once; False when it was revoked already. Audited."""
    return journey_links.revoke(link, actor_type="user", actor_id=actor)


def reissue_link(link: JourneyLink, actor: str) -> NewLink:
    """Revoke a kept link and make its like again (emailed again if it was). Audited.

    Raises AlreadyReplaced or NotSendable (see journey_links.reissue).
    """
    return _new_link(journey_links.reissue(link, actor_type="user", actor_id=actor))


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

"""What a customer (or the business on their behalf) changes about what they granted:
withdraw a consent, keep it going, disconnect a platform. Each change is audited, and
what follows from it happens here too: a required consent's end disconnects the
connections that depended on it, their tokens revoked at the platform and forgotten."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app, render_template
from flask_babel import gettext as _
from sqlalchemy import func, select

from app import audit, clock, mail
from app.connections.lifecycle import disconnect_audited
from app.consent import ledger
from app.consent.account_links import manage_url
from app.extensions import db
from app.models import Connection, ConsentRecord, Customer, JourneyRun

# Connections that still hold, or may again hold, access.
LIVE = ("pending", "linked", "deauthorized", "failed")
# Customers sharing one email address get their links in one message, up to this many.
MAX_LINKS_PER_EMAIL = 10


@dataclass(frozen=True)
class Withdrawal:
    """A withdrawal's outcome: its ``withdrawn`` record and the connections it ended."""

    record: ConsentRecord
    ended: list[Connection] = field(default_factory=list)


def end_dependents(
    record: ConsentRecord, actor_type: str = "system", actor_id: str = "onramp"
) -> list[Connection]:
    """Disconnect the run's connections when ``record`` ended a required consent.

    An optional item's end leaves connections alone: they never depended on it.
    Each disconnection is audited as caused by ``record``, on behalf of the actor
    given. Commits; returns the connections ended.
    """
    if not record.required:
        return []
    db.session.commit()
    connections = dependents(record)
    for connection in connections:
        disconnect_audited(connection, actor_type, actor_id, because=record.public_id)
    return connections


def dependents(record: ConsentRecord) -> list[Connection]:
    """The live connections of ``record``'s run that end with it if it is required."""
    if not record.required:
        return []
    return list(
        db.session.scalars(
            select(Connection)
            .where(Connection.run_id == record.run_id, Connection.status.in_(LIVE))
            .order_by(Connection.id)
        )
    )


def _who(record: ConsentRecord, actor: ledger.Actor | None) -> tuple[str, str]:
    """The audit trail's actor: the one given, else the customer (by public id)."""
    if actor is not None:
        return actor.type, actor.id
    customer = db.session.get(Customer, record.customer_id)
    return "customer", customer.public_id if customer else "unknown"


def withdraw(
    record: ConsentRecord,
    *,
    evidence: ledger.Evidence | None = None,
    actor: ledger.Actor | None = None,
) -> Withdrawal | None:
    """Withdraw the consent item ``record`` belongs to, then end what depended on it.

    ``evidence`` when the customer acted (their page), ``actor`` when someone else did.
    None when the item is not an active grant: nothing is written (and nothing held).
    Commits: the ``withdrawn`` record, its ``consent.withdrawn`` event and the audit
    entry land together, before the platforms are asked to revoke anything.
    """
    withdrawn = ledger.withdraw(record, actor=actor, evidence=evidence)
    if withdrawn is None:
        db.session.rollback()  # let go of the chain's lock
        return None
    actor_type, actor_id = _who(record, actor)
    audit.record(
        actor_type,
        actor_id,
        "consent.withdraw",
        "consent",
        record.public_id,
        after={"withdrawal_id": withdrawn.public_id, "item": withdrawn.item_key},
    )
    db.session.commit()
    return Withdrawal(withdrawn, end_dependents(withdrawn, actor_type, actor_id))


def reconfirm(record: ConsentRecord, evidence: ledger.Evidence) -> ConsentRecord | None:
    """The customer keeps a grant going for another full lifetime; audited and committed.

    None when the item is no longer an active grant with an expiry (nothing written).
    """
    reconfirmed = ledger.reconfirm(record, evidence)
    if reconfirmed is None:
        db.session.rollback()
        return None
    actor_type, actor_id = _who(record, None)
    audit.record(
        actor_type,
        actor_id,
        "consent.reconfirm",
        "consent",
        record.public_id,
        after={
            "reconfirmation_id": reconfirmed.public_id,
            "item": reconfirmed.item_key,
            "expires_at": reconfirmed.expires_at.isoformat() if reconfirmed.expires_at else None,
        },
    )
    db.session.commit()
    return reconfirmed


def disconnect_by_customer(connection: Connection, customer: Customer) -> bool:
    """The customer disconnects one of their platforms; False if it already was.

    The tokens are revoked at the platform and forgotten; the consent stays as it is
    (the customer may connect again through their journey).
    """
    if connection.customer_id != customer.id:
        raise PermissionError("not this customer's connection")
    if connection.status == "disconnected":
        return False
    disconnect_audited(connection, "customer", customer.public_id)
    return True


# What the customer's page shows.


@dataclass(frozen=True)
class ItemState:
    """One consent item of one run, as it stands now."""

    latest: ConsentRecord
    state: str
    given_at: datetime | None

    @property
    def active(self) -> bool:
        return self.state in ledger.ACTIVE

    @property
    def renewable(self) -> bool:
        """Whether "Keep sharing" applies: an active grant that would otherwise end, and
        that the customer did not choose to share just once."""
        return (
            self.active
            and self.latest.expires_at is not None
            and not ledger.is_one_off(self.latest)
        )


@dataclass(frozen=True)
class RunConsents:
    """What the customer decided, and connected, in one journey run."""

    run: JourneyRun
    business: str
    items: list[ItemState]
    connections: list[Connection]


def item_state(latest: ConsentRecord, now: datetime | None = None) -> str:
    """granted, reconfirmed, withdrawn, expired or declined: a grant past its expiry
    counts as expired even before the expiry job has written so."""
    if latest.decision in ledger.ACTIVE and not ledger.is_active(latest, now):
        return ledger.EXPIRED
    return latest.decision


def _given_at(run_id: int, item_key: str, latest: ConsentRecord) -> datetime | None:
    """When the item was last granted (a reconfirmation or withdrawal refers back to it)."""
    if latest.decision == ledger.DECLINED:
        return None
    return db.session.scalar(
        select(ConsentRecord.recorded_at)
        .where(
            ConsentRecord.run_id == run_id,
            ConsentRecord.item_key == item_key,
            ConsentRecord.decision == ledger.GRANTED,
            ConsentRecord.sequence <= latest.sequence,
        )
        .order_by(ConsentRecord.sequence.desc())
        .limit(1)
    )


def customer_consents(customer: Customer) -> list[RunConsents]:
    """Each of the customer's runs with a decision or a connection, newest first."""
    now = clock.now()
    overview = []
    runs = db.session.scalars(
        select(JourneyRun).where(JourneyRun.customer_id == customer.id).order_by(JourneyRun.id)
    ).all()
    for run in reversed(runs):
        latest = ledger.latest_decisions(run)
        items = [
            ItemState(record, item_state(record, now), _given_at(run.id, key, record))
            for key, record in latest.items()
        ]
        # Attempts that never linked are not connections the customer has.
        connections = [c for c in run.connections if c.linked_at is not None]
        if not items and not connections:
            continue
        names = {c["name"] for r in latest.values() for c in r.controllers if c.get("name")}
        overview.append(RunConsents(run, ", ".join(sorted(names)), items, connections))
    return overview


def find_record(customer: Customer, public_id: str) -> ConsentRecord | None:
    """One of this customer's consent records; another customer's is not found."""
    return db.session.scalars(
        select(ConsentRecord).where(
            ConsentRecord.public_id == public_id, ConsentRecord.customer_id == customer.id
        )
    ).first()


def current_state(record: ConsentRecord) -> ItemState:
    """Where ``record``'s item stands now, whichever of its records ``record`` is."""
    latest = ledger.latest_decisions(record.run_id)[record.item_key]
    return ItemState(latest, item_state(latest), _given_at(record.run_id, record.item_key, latest))


def find_connection(customer: Customer, public_id: str) -> Connection | None:
    return db.session.scalars(
        select(Connection).where(
            Connection.public_id == public_id, Connection.customer_id == customer.id
        )
    ).first()


def email_manage_links(address: str) -> int:
    """Queue an email with a fresh link to the page of each customer with this address;
    how many emails were queued (the worker sends them).

    Says nothing to the caller about whether the address is known (the page answers the
    same either way) and logs neither the address nor the links.
    """
    if not mail.enabled():
        return 0
    wanted = address.strip().lower()
    customers = db.session.scalars(
        select(Customer)
        .where(func.lower(Customer.email) == wanted, Customer.erased_at.is_(None))
        .order_by(Customer.id.desc())
        .limit(MAX_LINKS_PER_EMAIL)
    ).all()
    if not customers:
        return 0
    links = [{"name": c.name, "url": manage_url(c)} for c in customers]
    days = current_app.config["LINK_MAX_AGE_SECONDS"] // 86400
    text = render_template("email/manage_link.txt", links=links, days=days)
    subject = _("Your link to see and change what you share")
    mail.queue("manage_link", customers[0].email, subject, text)
    db.session.commit()
    return 1

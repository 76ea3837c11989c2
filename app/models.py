"""The database tables of the customer side of Onramp."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from app import clock
from app.extensions import db


def new_public_id() -> str:
    return str(uuid.uuid4())


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every database (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use UTC-aware ones")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Customer(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_public_id)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    external_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    # This customer's own data key (a Fernet key, itself encrypted with TOKEN_ENCRYPTION_KEY):
    # the personal details in their consent records and receipts are encrypted with it, and
    # erasure destroys it (app/consent/personal.py).
    data_key_ciphertext: Mapped[str | None] = mapped_column(Text)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The colleague who looks after this customer, if any (app/admin/scope.py).
    assigned_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)

    runs: Mapped[list[JourneyRun]] = relationship(back_populates="customer")


class JourneyVersion(db.Model):  # type: ignore[name-defined,misc]
    """A journey definition as it was when first used: never changed afterwards."""

    __tablename__ = "journey_versions"

    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    journey_id: Mapped[str] = mapped_column(String(100), index=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class JourneyRun(db.Model):  # type: ignore[name-defined,misc]
    """One customer's pass through one version of a journey."""

    __tablename__ = "journey_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_public_id)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    journey_id: Mapped[str] = mapped_column(String(100))
    journey_version: Mapped[str] = mapped_column(String(64))
    current_step: Mapped[str] = mapped_column(String(100))
    # active, declined (the customer refused a required consent) or completed.
    status: Mapped[str] = mapped_column(String(20), default="active")
    completed_steps: Mapped[list[str]] = mapped_column(JSON, default=list)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    locale: Mapped[str] = mapped_column(String(20), default="en")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when the run sat idle too long (journey.abandoned sent); cleared when it moves again.
    abandoned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Where the done page sends the customer back to, checked against the journey's allow-list.
    return_url: Mapped[str | None] = mapped_column(String(2000))
    # The step whose visit is under way: its "entered" (or "not_listed") is the run's last
    # event, so showing the step again is the same visit (app/engine/events.py keeps it).
    visiting_step: Mapped[str | None] = mapped_column(String(100))

    customer: Mapped[Customer] = relationship(back_populates="runs")
    connections: Mapped[list[Connection]] = relationship(
        back_populates="run", order_by="Connection.id"
    )


class ConsentRecord(db.Model):  # type: ignore[name-defined,misc]
    """One consent decision with the exact text shown. Rows are never changed or removed.

    Every record is a link of one hash chain (app/consent/chain.py): ``record_hash`` is the
    SHA-256 of its canonical content followed by the previous record's hash.
    """

    __tablename__ = "consent_records"
    # The console and the API list records newest (or oldest) first by id, filtered: with
    # a million records, each filter needs an index that yields its rows in id order, and
    # a date range one of its own (bench/million).
    __table_args__ = (
        Index("ix_consent_records_decision_id", "decision", "id"),
        Index("ix_consent_records_item_id", "item_key", "id"),
        Index("ix_consent_records_journey_id", "journey_id", "id"),
        # Holding what the filters name, a date range is read from the index alone
        # (export.within_range_ids); PostgreSQL only, SQLite indexes just the date.
        Index(
            "ix_consent_records_recorded_at",
            "recorded_at",
            postgresql_include=["id", "decision", "item_key", "journey_id", "customer_id"],
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The record's place in the chain: 1, 2, 3, ... with no gaps.
    sequence: Mapped[int] = mapped_column(unique=True)
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    record_hash: Mapped[str] = mapped_column(String(64), unique=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_public_id)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("journey_runs.id"), index=True)
    journey_id: Mapped[str] = mapped_column(String(100))
    journey_version: Mapped[str] = mapped_column(String(64))
    item_key: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    text_sha256: Mapped[str] = mapped_column(String(64))
    # granted, declined, withdrawn, reconfirmed, expired, or scoped (a grant now covers
    # the connection in ``scope``).
    decision: Mapped[str] = mapped_column(String(20))
    required: Mapped[bool] = mapped_column(default=False)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    # When a grant (or reconfirmation) stops counting unless reconfirmed; None: no limit.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The record this one withdraws, reconfirms, expires or scopes (its public id).
    refers_to: Mapped[str | None] = mapped_column(String(36))
    locale: Mapped[str] = mapped_column(String(20))
    # Who acted: customer, user (a colleague in the console), api_key or system.
    actor_type: Mapped[str] = mapped_column(String(20), default="customer")
    # Never personal data of the customer: a user's email, a key prefix, a command name.
    actor_id: Mapped[str | None] = mapped_column(String(320))
    # journey, embedded journey, customer page, reconfirmation, admin console, api, expiry.
    collection_method: Mapped[str] = mapped_column(String(50))
    # The controllers named to the customer: [{"name", "email", "phone", "privacy_url"}].
    controllers: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    purpose: Mapped[str] = mapped_column(Text)
    data_categories: Mapped[list[str]] = mapped_column(JSON)
    policy_url: Mapped[str | None] = mapped_column(String(2000))
    policy_version: Mapped[str] = mapped_column(String(64))
    jurisdiction: Mapped[str] = mapped_column(String(20))
    # {"connections": [{"connection_id", "platform", "organisation_id",
    # "organisation_name_ciphertext" (under the customer's key: it may name a person),
    # "scopes"}]}, once known.
    scope: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The person acting, their IP address and browser, encrypted with the customer's own
    # data key: erasure makes them unreadable while the chain still verifies.
    personal_ciphertext: Mapped[str | None] = mapped_column(Text)


class ConsentChainHead(db.Model):  # type: ignore[name-defined,misc]
    """The chain's last link. Every append updates this one row first, which makes
    concurrent writers take turns: the chain never forks."""

    __tablename__ = "consent_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    sequence: Mapped[int] = mapped_column(default=0)
    hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)


class ConsentCheckpoint(db.Model):  # type: ignore[name-defined,misc]
    """A signed statement of the chain head at a moment, also written out to be kept elsewhere."""

    __tablename__ = "consent_checkpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    sequence: Mapped[int] = mapped_column()
    hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    # The compact JWS (Ed25519) of {"sequence", "hash", "created_at", "issuer"}.
    jws: Mapped[str] = mapped_column(Text)


class ConsentReceipt(db.Model):  # type: ignore[name-defined,misc]
    """The receipt a customer was given for the decisions of one consent step."""

    __tablename__ = "consent_receipts"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The receipt's consentReceiptID.
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_public_id)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("journey_runs.id"), index=True)
    # The public ids of the consent records it covers.
    record_ids: Mapped[list[str]] = mapped_column(JSON)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    # The signed receipt (compact JWS), encrypted with the customer's data key: it names them.
    jws_ciphertext: Mapped[str | None] = mapped_column(Text)
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ConsentReminder(db.Model):  # type: ignore[name-defined,misc]
    """A reminder sent before a grant expires: one per grant, whoever runs the expiry job."""

    __tablename__ = "consent_reminders"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The public id of the granted or reconfirmed record about to expire.
    record_id: Mapped[str] = mapped_column(String(36), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    emailed: Mapped[bool] = mapped_column(default=False)


@event.listens_for(Session, "before_flush")
def _consent_records_are_append_only(session: Session, *_: object) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, ConsentRecord):
            raise PermissionError("consent records are append-only")


# The database refuses changes too, whoever connects: a trigger on each dialect
# (the migration "consent records refuse update and delete" installs the same ones).
CONSENT_TRIGGERS = {
    "postgresql": [
        """
        CREATE OR REPLACE FUNCTION consent_records_append_only() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION 'consent records are append-only: no UPDATE or DELETE';
        END;
        $$ LANGUAGE plpgsql
        """,
        """
        CREATE TRIGGER consent_records_append_only
        BEFORE UPDATE OR DELETE ON consent_records
        FOR EACH ROW EXECUTE FUNCTION consent_records_append_only()
        """,
    ],
    "sqlite": [
        """
        CREATE TRIGGER consent_records_no_update BEFORE UPDATE ON consent_records
        BEGIN SELECT RAISE(ABORT, 'consent records are append-only (UPDATE refused)'); END
        """,
        """
        CREATE TRIGGER consent_records_no_delete BEFORE DELETE ON consent_records
        BEGIN SELECT RAISE(ABORT, 'consent records are append-only (DELETE refused)'); END
        """,
    ],
}


# What removes them again (a migration that must rewrite the table, or a tamper test).
CONSENT_TRIGGER_DROPS = {
    "postgresql": ["DROP TRIGGER IF EXISTS consent_records_append_only ON consent_records"],
    "sqlite": [
        "DROP TRIGGER IF EXISTS consent_records_no_update",
        "DROP TRIGGER IF EXISTS consent_records_no_delete",
    ],
}


@event.listens_for(ConsentRecord.__table__, "after_create")
def _install_consent_triggers(target: Any, connection: Any, **_: Any) -> None:
    for statement in CONSENT_TRIGGERS.get(connection.dialect.name, []):
        connection.exec_driver_sql(statement)


# Nor may the ledger be emptied at once. PostgreSQL's TRUNCATE fires no row trigger, so a
# statement trigger refuses it (SQLite has no TRUNCATE: its DELETE without WHERE meets the
# row trigger). The chain head is the ledger's length: without it a wiped ledger would look
# new, so it refuses DELETE and TRUNCATE too. The migration "the consent ledger refuses
# truncate" installs the same ones.
_REFUSE_WIPE = """
    CREATE OR REPLACE FUNCTION consent_ledger_refuse_wipe() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION USING MESSAGE = 'the consent ledger is append-only: '
            || TG_OP || ' of ' || TG_TABLE_NAME || ' refused';
    END;
    $$ LANGUAGE plpgsql
    """
LEDGER_WIPE_TRIGGERS: dict[str, dict[str, list[str]]] = {
    "consent_records": {
        "postgresql": [
            _REFUSE_WIPE,
            """
            CREATE TRIGGER consent_records_no_truncate BEFORE TRUNCATE ON consent_records
            FOR EACH STATEMENT EXECUTE FUNCTION consent_ledger_refuse_wipe()
            """,
        ],
    },
    "consent_chain_head": {
        "postgresql": [
            _REFUSE_WIPE,
            """
            CREATE TRIGGER consent_chain_head_no_delete BEFORE DELETE ON consent_chain_head
            FOR EACH ROW EXECUTE FUNCTION consent_ledger_refuse_wipe()
            """,
            """
            CREATE TRIGGER consent_chain_head_no_truncate BEFORE TRUNCATE ON consent_chain_head
            FOR EACH STATEMENT EXECUTE FUNCTION consent_ledger_refuse_wipe()
            """,
        ],
        "sqlite": [
            """
            CREATE TRIGGER consent_chain_head_no_delete BEFORE DELETE ON consent_chain_head
            BEGIN SELECT RAISE(ABORT, 'the consent ledger is append-only (DELETE refused)'); END
            """,
        ],
    },
}


LEDGER_WIPE_TRIGGER_DROPS = {
    "postgresql": [
        "DROP TRIGGER IF EXISTS consent_records_no_truncate ON consent_records",
        "DROP TRIGGER IF EXISTS consent_chain_head_no_delete ON consent_chain_head",
        "DROP TRIGGER IF EXISTS consent_chain_head_no_truncate ON consent_chain_head",
    ],
    "sqlite": ["DROP TRIGGER IF EXISTS consent_chain_head_no_delete"],
}


@event.listens_for(ConsentRecord.__table__, "after_create")
@event.listens_for(ConsentChainHead.__table__, "after_create")
def _install_wipe_triggers(target: Any, connection: Any, **_: Any) -> None:
    for statement in LEDGER_WIPE_TRIGGERS[target.name].get(connection.dialect.name, []):
        connection.exec_driver_sql(statement)


# Failures a new attempt by the customer cannot fix: the business must act first.
NOT_RETRYABLE = {"platform_unavailable"}


class Connection(db.Model):  # type: ignore[name-defined,misc]
    """A customer's link to one accounting platform."""

    __tablename__ = "connections"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_public_id)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("journey_runs.id"), index=True)
    platform: Mapped[str] = mapped_column(String(50))
    # pending, linked, failed, deauthorized or disconnected
    status: Mapped[str] = mapped_column(String(20), default="pending")
    org_id: Mapped[str | None] = mapped_column(String(200))
    org_name: Mapped[str | None] = mapped_column(String(300))
    scopes: Mapped[str | None] = mapped_column(String(1000))
    # The provider's token response, encrypted with TOKEN_ENCRYPTION_KEY (see vault.py).
    token_ciphertext: Mapped[str | None] = mapped_column(Text)
    token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Bumped on every token change: a writer that read an older version lost a race.
    token_version: Mapped[int] = mapped_column(default=0, server_default="0")
    # A refresh in progress elsewhere: other processes leave the connection alone until then.
    refresh_claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Organisations the customer may choose from when the platform returned several.
    candidates: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # What the business needs beside org_id to call the platform for this organisation
    # (FreshBooks' account_id, Business Central's environment, Xero's connection id).
    org_details: Mapped[dict[str, str] | None] = mapped_column(JSON)
    # When the platform last told us (by signed webhook) that this organisation changed.
    last_provider_event_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The provider's id for the latest call about this connection (Intuit's intuit_tid):
    # what the vendor's support asks for.
    last_provider_request_id: Mapped[str | None] = mapped_column(String(100))
    # When the refresh token stops working whatever is done (the vendor's absolute expiry,
    # or the catalogue's refresh_token_days): past it the connection needs the customer.
    refresh_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the platform was last asked whether the token still reaches the organisation;
    # None: due now (app/connections/health.py).
    health_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Who signed in at the platform and their role in the organisation, where the platform
    # reports them (a role too weak for the access asked is refused: role_too_weak).
    provider_user: Mapped[str | None] = mapped_column(String(100))
    provider_user_role: Mapped[str | None] = mapped_column(String(100))
    last_error: Mapped[str | None] = mapped_column(String(50))
    last_error_detail: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)
    # When the provider's redirect back was taken and the token exchange began: a pending
    # attempt claimed long ago was interrupted (see connections.service.fail_if_stuck).
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    linked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The customer is asked to repair a broken connection by email (app/connections/repair.py):
    # how many times so far, when last, and when it was last re-linked in place.
    repair_reminders_sent: Mapped[int] = mapped_column(default=0, server_default="0")
    repair_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    repaired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Who signed in at the platform: the customer (owner) or someone they asked through a
    # delegated link (accountant, bookkeeper, other), whose name is kept encrypted with
    # the customer's data key.
    authorised_by_role: Mapped[str] = mapped_column(
        String(20), default="owner", server_default="owner"
    )
    authorised_by_name_ciphertext: Mapped[str | None] = mapped_column(Text)

    run: Mapped[JourneyRun | None] = relationship(back_populates="connections")

    @property
    def retryable(self) -> bool:
        """Whether the customer can simply try again after this failure."""
        return self.status == "failed" and self.last_error not in NOT_RETRYABLE


class Upload(db.Model):  # type: ignore[name-defined,misc]
    """A file a customer uploaded instead of connecting their software."""

    __tablename__ = "uploads"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_public_id)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("journey_runs.id"), index=True)
    step: Mapped[str] = mapped_column(String(100))
    # The name the customer's computer gave it (checked: no path, no control characters).
    filename: Mapped[str] = mapped_column(String(255))
    # pdf, csv or xlsx: the kind its content was checked to be.
    kind: Mapped[str] = mapped_column(String(10))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(String(64))
    # The bytes, encrypted with the customer's own data key (app/consent/personal.py):
    # unreadable once the customer is erased.
    content_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    # The consent items of the run that must stay granted for the file to be handed out.
    covered_by: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)


class Delegation(db.Model):  # type: ignore[name-defined,misc]
    """A customer asked someone else (their accountant, say) to connect for them.

    The link's secret is never stored: only its SHA-256. It works once (the first browser
    to open it keeps it), until it expires or the customer or a colleague revokes it.
    """

    __tablename__ = "delegations"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_public_id)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("journey_runs.id"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    # accountant, bookkeeper or other
    role: Mapped[str] = mapped_column(String(20))
    # {"name", "email"} of the person asked, encrypted with the customer's data key.
    personal_ciphertext: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When the link was first opened (it then belongs to that browser only).
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # customer or user (a colleague in the console).
    revoked_by: Mapped[str | None] = mapped_column(String(20))
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    connection_id: Mapped[int | None] = mapped_column(ForeignKey("connections.id"))

    run: Mapped[JourneyRun] = relationship()
    connection: Mapped[Connection | None] = relationship()


class JourneyFeedback(db.Model):  # type: ignore[name-defined,misc]
    """What a customer thought of their journey, left on the done or declined page: once
    per run. The comment is their own words: erased with them, part of their export."""

    __tablename__ = "journey_feedback"
    __table_args__ = (Index("ix_journey_feedback_journey", "journey_id", "journey_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_public_id)
    run_id: Mapped[int] = mapped_column(ForeignKey("journey_runs.id"), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    journey_id: Mapped[str] = mapped_column(String(100))
    journey_version: Mapped[str] = mapped_column(String(64))
    # Where it was given: done or declined.
    step: Mapped[str] = mapped_column(String(20))
    # 1 (very hard) to 5 (very easy).
    rating: Mapped[int] = mapped_column()
    comment: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)

    run: Mapped[JourneyRun] = relationship()


class OAuthFlow(db.Model):  # type: ignore[name-defined,misc]
    """An authorization request in progress: single-use state and PKCE verifier."""

    __tablename__ = "oauth_flows"

    id: Mapped[int] = mapped_column(primary_key=True)
    # SHA-256 of the state: a copy of the table reveals no live state.
    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id"))
    run_id: Mapped[int] = mapped_column(ForeignKey("journey_runs.id"))
    platform: Mapped[str] = mapped_column(String(50))
    issuer: Mapped[str] = mapped_column(String(500))
    redirect_uri: Mapped[str] = mapped_column(String(500))
    code_verifier_ciphertext: Mapped[str] = mapped_column(Text)
    # On a reconnect: the organisation that must come back, no other.
    expected_org_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    consumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class JourneyEvent(db.Model):  # type: ignore[name-defined,misc]
    """What happened on a step, for analytics and support."""

    __tablename__ = "journey_events"
    __table_args__ = (Index("ix_journey_events_run_at", "run_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("journey_runs.id"))
    step: Mapped[str] = mapped_column(String(100))
    # entered, completed, failed or saved (to finish later)
    kind: Mapped[str] = mapped_column(String(20))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    duration_ms: Mapped[int | None] = mapped_column()
    detail: Mapped[str | None] = mapped_column(String(500))


class ApiKey(db.Model):  # type: ignore[name-defined,misc]
    """A key the business's backend calls the API with. Only a hash of the secret is kept."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The visible, non-secret start of the key ("onr_" + 12 characters): finds the row.
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    secret_sha256: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    # Space-separated: read, write, credentials.
    scopes: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def scope_set(self) -> set[str]:
        return set(self.scopes.split())


class AuditEntry(db.Model):  # type: ignore[name-defined,misc]
    """Who did what to what, and when: API calls that matter and every admin change."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_subject", "subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)
    # api_key, user, cli or customer, with that actor's id (key prefix, user email, ...).
    actor_type: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(100), index=True)
    subject_type: Mapped[str | None] = mapped_column(String(50))
    subject_id: Mapped[str | None] = mapped_column(String(200))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class IdempotencyRecord(db.Model):  # type: ignore[name-defined,misc]
    """The stored answer to a write sent with an Idempotency-Key, replayed on a retry."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("api_key_id", "key", name="uq_idempotency_keys_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"))
    key: Mapped[str] = mapped_column(String(255))
    # The method, path and body the key was first used with: another request is refused.
    request_sha256: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column()
    response_body: Mapped[Any | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, index=True)


class WebhookEndpoint(db.Model):  # type: ignore[name-defined,misc]
    """Where the business wants to hear about events, and the secrets it checks them with."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_public_id)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(String(500))
    # Event types sent here; an empty list means every type.
    event_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Encrypted {"secrets": [{"secret": "whsec_...", "expires_at": ISO or null}]}, newest
    # first: every unexpired one signs during a rotation (app/webhooks/endpoints.py).
    secrets_ciphertext: Mapped[str] = mapped_column(Text)
    # enabled or disabled (by the business, or after the receiver answered 410 Gone).
    status: Mapped[str] = mapped_column(String(20), default="enabled")
    disabled_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)
    # The receiver's public JWK when payloads are sent encrypted (app/webhooks/encryption.py);
    # public, so stored in the clear. None sends JSON as before.
    encryption_jwk: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Mutual TLS (app/webhooks/mutual_tls.py): encrypted {"certificates": [{"certificate",
    # "key", "overlap_ends"}]}, newest first; and the PEM CA bundle trusted instead of the system's.
    client_certificates_ciphertext: Mapped[str | None] = mapped_column(Text)
    pinned_ca_pem: Mapped[str | None] = mapped_column(Text)


class OutboxEvent(db.Model):  # type: ignore[name-defined,misc]
    """Something the business may want to hear about, written with the change it reports."""

    __tablename__ = "outbox_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_public_id)
    type: Mapped[str] = mapped_column(String(50), index=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    # Thin: ids only, never tokens or personal data.
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)


class WebhookDelivery(db.Model):  # type: ignore[name-defined,misc]
    """One event on its way to one endpoint; its public id is the ``webhook-id`` header."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_public_id)
    event_id: Mapped[int] = mapped_column(ForeignKey("outbox_events.id"), index=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id"), index=True)
    # pending, succeeded, failed (gave up) or cancelled (the endpoint was disabled).
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    # A worker is sending it: others leave it alone until then.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    last_status_code: Mapped[int | None] = mapped_column()
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    event: Mapped[OutboxEvent] = relationship()
    endpoint: Mapped[WebhookEndpoint] = relationship()
    attempts_made: Mapped[list[WebhookAttempt]] = relationship(
        back_populates="delivery", order_by="WebhookAttempt.id"
    )


class WebhookAttempt(db.Model):  # type: ignore[name-defined,misc]
    """One try at delivering: kept for the admin console."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id"), index=True)
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    status_code: Mapped[int | None] = mapped_column()
    latency_ms: Mapped[int | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(String(500))

    delivery: Mapped[WebhookDelivery] = relationship(back_populates="attempts_made")


class User(db.Model):  # type: ignore[name-defined,misc]
    """A colleague of the business who signs in to the admin console."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    # Argon2id (argon2-cffi); None for an account that only signs in through single sign-on.
    password_hash: Mapped[str | None] = mapped_column(String(200))
    # admin, editor, support, viewer or advisor
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(default=True)
    # Sees only the customers assigned to them (support, viewer and advisor; app/admin/scope.py).
    own_customers_only: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AdminSession(db.Model):  # type: ignore[name-defined,misc]
    """A colleague signed in on one device; the session cookie holds only its token.

    Signing out ends this one; a new password, a new role or deactivation ends all of
    the colleague's (app/admin/sessions.py). A copied cookie is worth no more than this row.
    """

    __tablename__ = "admin_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    # SHA-256 of the random token in the cookie: reading this table opens no session.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # Keyed hash of the network signed in from (app/admin/throttle.py): an address the
    # colleague is known to use is not slowed by failures at other addresses.
    address_key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SignInFailure(db.Model):  # type: ignore[name-defined,misc]
    """One password sign-in that failed (or is being checked), for throttling.

    Kept in the database because every worker and instance must see the same count, with
    or without Redis (the ``limits`` library behind Flask-Limiter has no SQL storage).
    Keyed hashes only: neither the typed email nor the address is stored.
    """

    __tablename__ = "sign_in_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_key: Mapped[str] = mapped_column(String(64), index=True)
    address_key: Mapped[str] = mapped_column(String(64), index=True)
    failed_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class CustomerNote(db.Model):  # type: ignore[name-defined,misc]
    """An internal note a support colleague kept about a customer."""

    __tablename__ = "customer_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class JourneyDraft(db.Model):  # type: ignore[name-defined,misc]
    """A journey's YAML as an editor wrote it in the console: a draft, then published.

    The latest published draft of a journey id is that journey's current definition,
    taking precedence over the file of the same id (see app/engine/publishing.py).
    """

    __tablename__ = "journey_drafts"
    __table_args__ = (Index("ix_journey_drafts_status_journey", "status", "journey_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_public_id)
    journey_id: Mapped[str] = mapped_column(String(100))
    yaml_text: Mapped[str] = mapped_column(Text)
    # The content hash when the YAML is a valid journey; None while it has problems.
    version: Mapped[str | None] = mapped_column(String(64))
    # draft, published (then never changed) or discarded.
    status: Mapped[str] = mapped_column(String(20), default="draft")
    author: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_by: Mapped[str | None] = mapped_column(String(320))


class JourneyLink(db.Model):  # type: ignore[name-defined,misc]
    """A journey link a colleague (console) or the business's backend (API) made: kept so
    it can be emailed, followed (sent, bounced, opened), revoked and reissued.

    The link itself is never stored: its token carries this row's public id (app/links.py)
    and is signed again only when the link is reissued, as a new row.
    """

    __tablename__ = "journey_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_public_id)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    journey_id: Mapped[str] = mapped_column(String(100))
    # The connection the link re-authorizes, if it is a reconnect link.
    connection_id: Mapped[int | None] = mapped_column(ForeignKey("connections.id"))
    # What else the link carries, so that a reissue makes the same link again.
    locale: Mapped[str | None] = mapped_column(String(20))
    platform: Mapped[str | None] = mapped_column(String(50))
    return_url: Mapped[str | None] = mapped_column(String(2000))
    # Who made it: user (a colleague's email) or api_key (the key's prefix).
    actor_type: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Works in the first browser that opens it, and no other.
    single_use: Mapped[bool] = mapped_column(default=False)
    # The email that carried it, and the address it went to (None: not emailed).
    mail_message_id: Mapped[int | None] = mapped_column(ForeignKey("mail_outbox.id"))
    sent_to: Mapped[str | None] = mapped_column(String(320))
    # First opened (written once; later openings change nothing).
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # SHA-256 of the marker of the browser that opened a single-use link first.
    used_by: Mapped[str | None] = mapped_column(String(64))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(320))
    # The link that replaced this one when it was reissued (its public id).
    replaced_by: Mapped[str | None] = mapped_column(String(36))

    mail_message: Mapped[MailMessage | None] = relationship()
    connection: Mapped[Connection | None] = relationship()


class MailMessage(db.Model):  # type: ignore[name-defined,misc]
    """An email on its way to a customer: written with the change it reports, sent by the
    worker with retries (app/mail.py), so no page waits for the mail server."""

    __tablename__ = "mail_outbox"
    __table_args__ = (Index("ix_mail_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # receipt, consent_reminder, repair, manage_link, journey_link, ...: what it is, for the
    # logs and the console.
    kind: Mapped[str] = mapped_column(String(30))
    # What it is about (a receipt's or consent record's public id), marked once it is sent.
    about: Mapped[str | None] = mapped_column(String(36))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    # The address, subject, bodies and attachments, encrypted with TOKEN_ENCRYPTION_KEY:
    # they name the customer. Cleared once sent or given up.
    message_ciphertext: Mapped[str | None] = mapped_column(Text)
    # pending, sent or failed (gave up after MAIL_MAX_ATTEMPTS, or at once when the mail
    # server refused the recipient: then last_error starts with "bounced").
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    # A worker is sending it: others leave it alone until then.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

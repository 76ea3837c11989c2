"""The database tables of the customer side of Onramp."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String, Text, TypeDecorator, event
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from app.extensions import db


def utcnow() -> datetime:
    return datetime.now(UTC)


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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    runs: Mapped[list[JourneyRun]] = relationship(back_populates="customer")


class JourneyVersion(db.Model):  # type: ignore[name-defined,misc]
    """A journey definition as it was when first used: never changed afterwards."""

    __tablename__ = "journey_versions"

    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    journey_id: Mapped[str] = mapped_column(String(100), index=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    customer: Mapped[Customer] = relationship(back_populates="runs")
    connections: Mapped[list[Connection]] = relationship(
        back_populates="run", order_by="Connection.id"
    )


class ConsentRecord(db.Model):  # type: ignore[name-defined,misc]
    """One consent decision with the exact text shown. Rows are never changed or removed."""

    __tablename__ = "consent_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(36), unique=True, default=new_public_id)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("journey_runs.id"), index=True)
    journey_id: Mapped[str] = mapped_column(String(100))
    journey_version: Mapped[str] = mapped_column(String(64))
    item_key: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    text_sha256: Mapped[str] = mapped_column(String(64))
    # granted or declined
    decision: Mapped[str] = mapped_column(String(20))
    required: Mapped[bool] = mapped_column(default=False)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ip_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(500))
    locale: Mapped[str] = mapped_column(String(20))


@event.listens_for(Session, "before_flush")
def _consent_records_are_append_only(session: Session, *_: object) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, ConsentRecord):
            raise PermissionError("consent records are append-only")


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
    candidates: Mapped[list[dict[str, str]] | None] = mapped_column(JSON)
    # When the platform last told us (by signed webhook) that this organisation changed.
    last_provider_event_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(String(50))
    last_error_detail: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    linked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    run: Mapped[JourneyRun | None] = relationship(back_populates="connections")

    @property
    def retryable(self) -> bool:
        """Whether the customer can simply try again after this failure."""
        return self.status == "failed" and self.last_error not in NOT_RETRYABLE


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
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    consumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class JourneyEvent(db.Model):  # type: ignore[name-defined,misc]
    """What happened on a step, for analytics and support."""

    __tablename__ = "journey_events"
    __table_args__ = (Index("ix_journey_events_run_at", "run_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("journey_runs.id"))
    step: Mapped[str] = mapped_column(String(100))
    # entered, completed or failed
    kind: Mapped[str] = mapped_column(String(20))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    duration_ms: Mapped[int | None] = mapped_column()
    detail: Mapped[str | None] = mapped_column(String(500))

"""What the tests hold on to: the live server, and a customer's link."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import Connection, ConsentRecord, Customer, JourneyRun


@dataclass(frozen=True)
class LiveServer:
    """The running app, its public URL, and read access to what customers did."""

    app: Flask
    url: str

    def runs(self, customer_public_id: str) -> list[JourneyRun]:
        with self.app.app_context():
            return list(
                db.session.scalars(
                    select(JourneyRun)
                    .join(Customer)
                    .where(Customer.public_id == customer_public_id)
                    .order_by(JourneyRun.id)
                )
            )

    def consent_records(self, customer_public_id: str) -> list[ConsentRecord]:
        """The customer's decisions, oldest first: the "scoped" notes a linked connection
        adds to each grant are left out."""
        with self.app.app_context():
            return list(
                db.session.scalars(
                    select(ConsentRecord)
                    .join(Customer, ConsentRecord.customer_id == Customer.id)
                    .where(
                        Customer.public_id == customer_public_id,
                        ConsentRecord.decision != "scoped",
                    )
                    .order_by(ConsentRecord.sequence)
                )
            )

    def decisions(self, customer_public_id: str) -> dict[str, str]:
        """Each consent item's latest decision, by item key."""
        return {r.item_key: r.decision for r in self.consent_records(customer_public_id)}

    def connections(self, customer_public_id: str) -> list[Connection]:
        with self.app.app_context():
            return list(
                db.session.scalars(
                    select(Connection)
                    .join(Customer, Connection.customer_id == Customer.id)
                    .where(Customer.public_id == customer_public_id)
                    .order_by(Connection.id)
                )
            )


@dataclass(frozen=True)
class JourneyLink:
    """A fresh customer's signed link, and who they are, to look them up afterwards."""

    url: str
    customer_public_id: str

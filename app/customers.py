"""Customers: the businesses a journey link is sent to."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import Customer


def create_customer(name: str, email: str, external_id: str | None = None) -> Customer:
    customer = Customer(name=name.strip(), email=email.strip().lower(), external_id=external_id)
    db.session.add(customer)
    db.session.commit()
    return customer


def find_by_external_id(external_id: str) -> Customer | None:
    return db.session.scalars(select(Customer).where(Customer.external_id == external_id)).first()

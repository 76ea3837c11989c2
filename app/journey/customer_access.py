"""Which customer this browser may act for on their own pages (consents, receipts).

A browser holds a customer only after opening one of that customer's signed links: a
manage link (``/my/<token>``) or a journey link (see ``app.journey.run_access``). Being on a
run is not enough by itself: a run reached any other way grants nothing here.
"""

from __future__ import annotations

from flask import session
from sqlalchemy import select

from app.extensions import db
from app.journey.run_access import SESSION_CUSTOMER, remember_customer
from app.models import Customer

__all__ = ["current_customer", "held_customer", "remember_customer"]


def held_customer() -> Customer | None:
    """The customer whose link this browser opened, erased or not."""
    public_id = session.get(SESSION_CUSTOMER)
    if not isinstance(public_id, str):
        return None
    return db.session.scalars(select(Customer).where(Customer.public_id == public_id)).first()


def current_customer() -> Customer | None:
    """The customer this browser acts for, or None; an erased customer is nobody's."""
    customer = held_customer()
    if customer is None or customer.erased_at is not None:
        return None
    return customer

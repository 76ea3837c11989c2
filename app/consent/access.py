"""Which customer this browser may act for on their own pages (consents, receipts).

A browser holds a customer after opening a signed manage link (``/my/<token>``), or
while it is on one of that customer's journey runs (the journey link opened it).
"""

from __future__ import annotations

from flask import session
from sqlalchemy import select

from app.extensions import db
from app.journey.access import current_run
from app.models import Customer

SESSION_CUSTOMER = "customer"


def remember_customer(customer: Customer) -> None:
    session[SESSION_CUSTOMER] = customer.public_id
    session.permanent = True


def current_customer() -> Customer | None:
    """The customer this browser acts for, or None; an erased customer is nobody's."""
    public_id = session.get(SESSION_CUSTOMER)
    customer = None
    if isinstance(public_id, str):
        customer = db.session.scalars(
            select(Customer).where(Customer.public_id == public_id)
        ).first()
    if customer is None:
        run = current_run()
        customer = run.customer if run is not None else None
    if customer is None or customer.erased_at is not None:
        return None
    return customer

"""Which customer this browser may act for on their own pages (consents, receipts).

A browser holds a customer only after opening one of that customer's signed links: a
manage link (``/my/<token>``) or a journey link (see ``app.journey.run_access``). Being on a
run is not enough by itself: a run reached any other way grants nothing here.
"""

from __future__ import annotations

from flask import current_app, session
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from app.engine.registry import file_journeys, get_journey
from app.engine.schema import Journey
from app.engine.versions import journey_for_run
from app.extensions import db
from app.journey.run_access import SESSION_CUSTOMER, current_run, remember_customer
from app.models import Customer, JourneyRun

__all__ = ["current_customer", "customer_journey", "held_customer", "remember_customer"]


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


def customer_journey() -> Journey | None:
    """The journey whose business this browser deals with, for pages outside a journey
    step (the customer's page, receipts, errors): the run it is on, else its customer's
    latest run, else the default journey.

    An error page asks too, so a database that can't answer gives the default journey
    as its file has it rather than a second error.
    """
    default_id = current_app.config["DEFAULT_JOURNEY"]
    try:
        run = current_run()
        customer = held_customer() if run is None else None
        if customer is not None:
            run = db.session.scalars(
                select(JourneyRun)
                .where(JourneyRun.customer_id == customer.id)
                .order_by(JourneyRun.id.desc())
                .limit(1)
            ).first()
        journey = journey_for_run(run) if run is not None else None
        return journey or get_journey(default_id)
    except DBAPIError:
        db.session.rollback()
        return file_journeys().get(default_id)

"""Which journey run this browser is on: set when a signed link is opened."""

from __future__ import annotations

from dataclasses import replace

from flask import session
from sqlalchemy import select

from app.connections.catalogue import get_platform, is_available
from app.extensions import db
from app.journey import engine
from app.journey.definitions import get_journey
from app.journey.locales import choose_locale
from app.links import LinkClaims
from app.models import Connection, Customer, JourneyRun
from app.ops.metrics import REJECTED_LINKS

SESSION_RUN = "run"


def remember_run(run: JourneyRun) -> None:
    # Only our key changes: a Sandbox mounted in this app keeps its sign-in here too.
    session[SESSION_RUN] = run.public_id
    session.permanent = True


def current_run() -> JourneyRun | None:
    public_id = session.get(SESSION_RUN)
    if not isinstance(public_id, str):
        return None
    return db.session.scalars(select(JourneyRun).where(JourneyRun.public_id == public_id)).first()


def start_from_link(claims: LinkClaims, asked_locale: str | None) -> JourneyRun | None:
    """Start or resume the run a genuine link grants; None if what it names is gone.

    The link may ask for a language, pre-select a platform, or re-authorize one of
    the customer's connections (the same organisation only).
    """
    customer = db.session.scalars(
        select(Customer).where(Customer.public_id == claims.customer_public_id)
    ).first()
    journey = get_journey(claims.journey_id)
    if customer is None or journey is None:
        REJECTED_LINKS.labels("unknown").inc()
        return None
    earlier = None
    if claims.reconnect:
        earlier = db.session.scalars(
            select(Connection).where(
                Connection.public_id == claims.reconnect, Connection.customer_id == customer.id
            )
        ).first()
        if earlier is None:
            return None
        claims = replace(claims, platform=earlier.platform)
    asked = asked_locale or claims.locale
    locale = choose_locale(journey, asked)
    run = engine.start_or_resume(customer, journey, locale, again=earlier is not None)
    if asked and run.locale != locale:
        run.locale = locale
    if claims.return_url and journey.integration.allows_return_to(claims.return_url):
        run.return_url = claims.return_url
    if earlier is not None:
        engine.expect_reconnect(run, earlier)
    chosen = get_platform(claims.platform or "")
    if chosen is not None and is_available(chosen):
        engine.preselect_platform(run, journey, chosen.key)
    db.session.commit()
    return run

"""Which journey run and customer this browser acts for, and which sign-in it started.

A browser holds a run, and its customer, only after opening that customer's signed link
(or a single-use handoff token issued to a browser that did). A provider's redirect back
continues a run only in the browser that started that very authorization.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, replace

from flask import session
from sqlalchemy import bindparam, select

from app.engine import steps
from app.engine.locales import choose_locale
from app.engine.registry import get_journey
from app.engine.schema import Journey, PlatformSelectStep
from app.extensions import db
from app.links import LinkClaims
from app.metrics import REJECTED_LINKS
from app.models import Connection, Customer, JourneyRun
from app.platforms import get_platform, is_available
from app.security_events import link_refused

SESSION_RUN = "run"
SESSION_CUSTOMER = "customer"
# The authorization this browser started: its OAuth state's hash and the run it is for.
SESSION_AUTHORIZING = "authorizing"
# A random mark of this browser: a single-use link is kept by the first one to open it.
SESSION_BROWSER = "browser"


@dataclass(frozen=True)
class Authorizing:
    """A sign-in at a provider that this browser started, and may finish once."""

    run_public_id: str
    # Started in a popup opened by an embedded journey: the popup reports back and closes.
    popup: bool
    # Started by the person a customer asked to connect (a delegated link), not the customer.
    delegate: bool = False


def remember_run(run: JourneyRun) -> None:
    """This browser is on ``run`` and acts for its customer (it holds their link)."""
    # Only our keys change: a Sandbox mounted in this app keeps its sign-in here too.
    session[SESSION_RUN] = run.public_id
    remember_customer(run.customer)


def remember_customer(customer: Customer) -> None:
    session[SESSION_CUSTOMER] = customer.public_id
    session.permanent = True


def browser_marker() -> str:
    """This browser's own random mark (made on first use, kept in its session)."""
    marker = session.get(SESSION_BROWSER)
    if not isinstance(marker, str):
        marker = secrets.token_urlsafe(16)
        session[SESSION_BROWSER] = marker
        session.permanent = True
    return marker


def _state_hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def remember_authorization(
    run: JourneyRun, state: str, *, popup: bool = False, delegate: bool = False
) -> None:
    """This browser started the authorization named by ``state``; only it may finish it.

    One at a time: starting another sign-in abandons the earlier attempt anyway.
    """
    session[SESSION_AUTHORIZING] = {
        "state": _state_hash(state),
        "run": run.public_id,
        "popup": popup,
        "delegate": delegate,
    }
    session.permanent = True


def take_authorization(state: str | None) -> Authorizing | None:
    """The authorization ``state`` names, if this browser started it; used up on reading.

    A browser that reloads the address while the first use is still at work sends the
    cookie from before that first use finished, so it is still recognised then.
    """
    marker = session.get(SESSION_AUTHORIZING)
    if not state or not isinstance(marker, dict) or marker.get("state") != _state_hash(state):
        return None
    session.pop(SESSION_AUTHORIZING, None)
    return Authorizing(
        str(marker.get("run")), bool(marker.get("popup")), bool(marker.get("delegate"))
    )


# Built once: every journey page asks it, and building the statement cost as much as a
# tenth of a step page's query.
_RUN_BY_PUBLIC_ID = select(JourneyRun).where(JourneyRun.public_id == bindparam("public_id"))


def run_by_public_id(public_id: str) -> JourneyRun | None:
    return db.session.scalars(_RUN_BY_PUBLIC_ID, {"public_id": public_id}).first()


def current_run() -> JourneyRun | None:
    public_id = session.get(SESSION_RUN)
    if not isinstance(public_id, str):
        return None
    return run_by_public_id(public_id)


def _only_platform(journey: Journey) -> str | None:
    """The platform a journey names when its picker offers just one: nothing to choose."""
    choice = journey.first_of("platform_select")
    if isinstance(choice, PlatformSelectStep) and len(choice.platforms) == 1:
        return choice.platforms[0]
    return None


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
        link_refused("journey_link", "unknown")
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
    run = steps.start_or_resume(customer, journey, locale, again=earlier is not None)
    if asked and run.locale != locale:
        run.locale = locale
    if claims.return_url and journey.integration.allows_return_to(claims.return_url):
        run.return_url = claims.return_url
    if earlier is not None:
        steps.expect_reconnect(run, earlier)
    chosen = get_platform(claims.platform or _only_platform(journey) or "")
    if chosen is not None and is_available(chosen):
        steps.preselect_platform(run, journey, chosen.key)
    db.session.commit()
    return run

"""The delegated journey (blueprint ``delegated``): the person a customer asked connects.

The link works once: the first browser to open it keeps the delegation in its session
and the address loses its secret (a redirect). That browser holds no journey run, so it
can reach none of the customer's steps (the consent step least of all): only these pages,
which show who asked, for which business and what was agreed, then sign in at the platform.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, g, make_response, redirect, render_template, session, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from app.connections import authorization as connections
from app.connections import delegation as delegations
from app.consent import ledger
from app.engine import steps
from app.engine.messages import explain_failure
from app.engine.schema import Journey
from app.engine.versions import journey_for_run
from app.errors import render_error
from app.input_guard import signed_path
from app.journey.forms import DelegatedConnectForm, organisation_form
from app.journey.run_access import remember_authorization
from app.models import Connection, Delegation, JourneyRun
from app.platforms import get_platform
from app.security import allow_form_action

bp = Blueprint("delegated", __name__, url_prefix="/journey/delegated")

# The delegation this browser opened (its public id): the only one it may act on.
SESSION_DELEGATION = "delegation"

PageResponse = Response | tuple[str, int]


def _refused(status: int, title: str, message: str) -> Response:
    body, code = render_error(status, title, message)
    response = make_response(body, code)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _unavailable() -> Response:
    return _refused(
        409,
        _("This connection can't be made at the moment"),
        _("Ask the person who sent the link to open their page again."),
    )


def _used() -> Response:
    return _refused(
        410,
        _("This link has already been used"),
        _(
            "A link to connect for someone works once, in the browser that first opened it. "
            "Ask the person who sent it for a new one."
        ),
    )


def _stopped(delegation: Delegation | None) -> Response:
    """Why a delegated link no longer works."""
    current = delegations.state(delegation) if delegation is not None else None
    if current == delegations.REVOKED:
        return _refused(
            410,
            _("This link has been cancelled"),
            _("The person who asked you cancelled it. Nothing was connected with it."),
        )
    if current == delegations.NOT_NEEDED:
        return _refused(
            410,
            _("There's nothing left to do"),
            _("The person who asked you has connected it themselves. Nothing more is needed."),
        )
    if current == delegations.EXPIRED:
        return _refused(
            410,
            _("This link has expired"),
            _("Ask the person who sent it for a new one."),
        )
    if current == delegations.COMPLETED:
        return redirect(url_for(".done"), 303)
    return _refused(
        403,
        _("Open the link you were sent"),
        _("This page works only in the browser that opened the link you were sent by email."),
    )


@bp.get("/<token>")
@signed_path
def open_link(token: str) -> Response:
    """The link from the email (or copied): claimed by the first browser that opens it."""
    opened, delegation = delegations.open_link(token)
    if opened is delegations.Opened.FRESH and delegation is not None:
        session[SESSION_DELEGATION] = delegation.public_id
        session.permanent = True
        response = redirect(url_for(".start"), 303)
    elif opened is delegations.Opened.USED and delegation is not None and _holds(delegation):
        # The same browser opening its link again carries on.
        response = redirect(url_for(".start"), 303)
    elif opened is delegations.Opened.USED:
        response = _used()
    elif opened is delegations.Opened.UNKNOWN:
        response = _refused(
            404,
            _("This link isn't valid"),
            _("It may have been copied incompletely. Open the link from the email again."),
        )
    else:
        response = _stopped(delegation)
    # The secret is in this address: no Referer carries it anywhere.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


def _held() -> Delegation | None:
    public_id = session.get(SESSION_DELEGATION)
    return delegations.by_public_id(public_id) if isinstance(public_id, str) else None


def _holds(delegation: Delegation) -> bool:
    return session.get(SESSION_DELEGATION) == delegation.public_id


def held_for(run: JourneyRun) -> Delegation | None:
    """The delegation this browser holds for ``run`` (the provider's redirect asks)."""
    held = _held()
    return held if held is not None and held.run_id == run.id else None


def _context(delegation: Delegation) -> tuple[JourneyRun, Journey] | None:
    run = delegation.run
    journey = journey_for_run(run)
    if journey is None:
        return None
    g.locale = run.locale
    return run, journey


def _page(template: str, status: int = 200, **context: Any) -> Response:
    response = make_response(render_template(template, **context), status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _agreed(run: JourneyRun) -> list[str]:
    """The consent items the customer granted, as the ledger has their category."""
    return [
        record.data_categories[0] if record.data_categories else record.item_key
        for record in ledger.latest_decisions(run).values()
        if ledger.is_active(record)
    ]


@bp.route("", methods=["GET", "POST"])
def start() -> PageResponse:
    """Who asked, for which business, what was agreed; then on to the platform."""
    delegation = _held()
    if delegation is None or not delegations.is_open(delegation):
        return _stopped(delegation)
    found = _context(delegation)
    platform = steps.chosen_platform(found[0], found[1]) if found else None
    if found is None or platform is None:
        return _unavailable()
    run, journey = found
    if any(c.status == "linked" for c in connections.run_connections(run)):
        # The customer connected it themselves meanwhile: nothing left to do here.
        return _refused(
            409,
            _(
                "%(customer)s's accounting software is already connected",
                customer=run.customer.name,
            ),
            _("There's nothing more to do. You can close this page."),
        )
    provider = connections.provider_config(platform.key)
    if provider is None:
        return _unavailable()
    form = DelegatedConnectForm()
    if form.validate_on_submit():
        try:
            started = connections.begin_connection(
                run, platform.key, authorised_by=delegations.authorised_by(delegation)
            )
        except connections.PlatformUnavailable:
            return _unavailable()
        remember_authorization(run, started.state, delegate=True)
        response = redirect(started.url, 303)
        response.headers["Cache-Control"] = "no-store"
        return response
    # The post is answered with a redirect to the provider, which form-action governs.
    authorize = urlsplit(provider.authorize_url)
    allow_form_action(f"{authorize.scheme}://{authorize.netloc}")
    latest = connections.latest_connection(run)
    mine = latest if latest is not None and latest.authorised_by_role != "owner" else None
    failed = mine is not None and mine.status == "failed"
    return _page(
        "journey/delegated/start.html",
        journey=journey,
        delegation=delegation,
        customer=run.customer.name,
        name=delegations.name_of(delegation),
        agreed=_agreed(run),
        platform=platform,
        form=form,
        failure=explain_failure(mine.last_error) if mine and failed else None,
    )


@bp.route("/organisation", methods=["GET", "POST"])
def choose_organisation() -> PageResponse:
    """The platform gave access to several organisations: the person asked picks one."""
    delegation = _held()
    if delegation is None or not delegations.is_open(delegation):
        return _stopped(delegation)
    found = _context(delegation)
    if found is None:
        return _stopped(None)
    run, journey = found
    connection = connections.latest_connection(run)
    if connection is None or connection.status != "pending" or not connection.candidates:
        return redirect(url_for(".start"), 303)
    form = organisation_form(connection.candidates)
    if form.validate_on_submit():
        following = connections.choose_organisation(
            run, journey, connection, form.organisation.data
        )
        if following is not None:
            return finished(delegation, connection)
    return _page(
        "journey/delegated/organisation.html",
        422 if form.errors else 200,
        journey=journey,
        customer=run.customer.name,
        platform=get_platform(connection.platform),
        form=form,
    )


def finished(delegation: Delegation, connection: Connection | None) -> Response:
    """After the sign-in (or the organisation chosen): done, or back to try again."""
    if connection is not None and connection.status == "linked":
        delegations.complete(delegation, connection)
        return redirect(url_for("delegated.done"), 303)
    return redirect(url_for("delegated.start"), 303)


def after_callback(delegation: Delegation, result: connections.CallbackResult) -> Response:
    """The provider sent the person asked back: on to the page the outcome leads to."""
    if result.choosing:
        return redirect(url_for("delegated.choose_organisation"), 303)
    return finished(delegation, result.connection if result.linked else None)


def refused_callback() -> Response:
    """A provider's redirect for a delegation revoked (or expired) meanwhile."""
    return _stopped(_held())


@bp.get("/done")
def done() -> PageResponse:
    """Done: the customer's accounting software is connected for the business."""
    delegation = _held()
    if delegation is None or delegation.completed_at is None:
        return _stopped(delegation)
    found = _context(delegation)
    if found is None:
        return _stopped(None)
    run, journey = found
    connection = delegation.connection
    return _page(
        "journey/delegated/done.html",
        journey=journey,
        customer=run.customer.name,
        platform=get_platform(connection.platform) if connection else None,
        organisation=connection.org_name if connection else None,
    )

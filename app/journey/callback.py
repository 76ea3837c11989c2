"""The providers' redirect back to Onramp: one callback URL per platform."""

from __future__ import annotations

import re
from contextlib import suppress
from http import HTTPStatus
from typing import Any

from flask import (
    Blueprint,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from app.connections import authorization, health, provider_webhooks
from app.connections import delegation as delegations
from app.connections import repair as repair_service
from app.engine import steps
from app.engine.schema import Journey
from app.engine.versions import journey_for_run
from app.errors import render_error
from app.extensions import db
from app.input_guard import signed_path
from app.journey import delegated, embed
from app.journey.customer_access import current_customer
from app.journey.run_access import (
    current_run,
    remember_authorization,
    remember_run,
    run_by_public_id,
    start_from_link,
    take_authorization,
)
from app.links import LinkExpired, LinkInvalid, read_token
from app.models import Connection, JourneyRun
from app.platforms import get_platform
from app.security import allow_opener

bp = Blueprint("connections", __name__)


@bp.get("/connect/handoff/<token>")
@signed_path
def handoff(token: str) -> Response:
    """An embedded journey's connect button: start the provider's sign-in in this window.

    The window (a popup, or the whole tab without JavaScript) does not share the
    frame's cookies; the signed, single-use token names the run instead.
    """
    try:
        handed = embed.read_handoff(token)
    except embed.HandoffRefused as refused:
        if refused.reason == "invalid":
            return _page_error(
                400,
                _("This sign-in link isn't valid"),
                _("Close this window and press the button on the journey page again."),
            )
        return _page_error(
            410,
            _("This sign-in link has already been used or has expired"),
            _("Close this window and press the button on the journey page again."),
        )
    run = handed.run
    expected = (steps.reconnecting(run) or {}).get("org_id")
    try:
        started = authorization.begin_connection(run, handed.platform, expected_org_id=expected)
    except authorization.PlatformUnavailable:
        return _page_error(409, _("This software can't be connected at the moment"))
    # This window (not the frame) comes back from the provider: it holds the sign-in.
    remember_authorization(run, started.state, popup=handed.mode == "popup")
    if handed.mode == "popup":
        allow_opener()
    else:
        # The whole tab left the business's page: the journey carries on here, hosted.
        remember_run(run)
    response = redirect(started.url, 303)
    # The token is in this URL: no Referer to the provider.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/connect/repair/<token>")
@signed_path
def repair(token: str) -> Response:
    """A repair link (emailed, or from the customer's page or the API): straight to the
    platform's sign-in for that connection; the same organisation must come back."""
    try:
        claims = read_token(token)
    except LinkExpired:
        return _page_error(
            410,
            _("This link has expired"),
            _("Ask for a fresh one from your page, or from the business that sent it."),
        )
    except LinkInvalid:
        return _page_error(
            400,
            _("This link isn't valid"),
            _("Open the link from your email again, or ask for a fresh one."),
        )
    run = start_from_link(claims, request.args.get("lang")) if claims.reconnect else None
    if run is None:
        return _page_error(
            404,
            _("This link is no longer in use"),
            _("Ask the business that sent it for a new one."),
        )
    remember_run(run)
    embed.stop_embedding()
    started = repair_service.begin_repair(run)
    if started is None:
        # The platform can't be reached from here now: the journey explains where it stands.
        return redirect(url_for("journey.resume"), 303)
    remember_authorization(run, started.state)
    response = redirect(started.url, 303)
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/connect/<platform>/reconnect")
def reconnect_from_platform(platform: str) -> Response:
    """The platform's Reconnect URL (Intuit sends customers here from QuickBooks): a browser
    that holds a customer (their page or their journey) goes on to repair that customer's
    connection; any other is told how to get a link."""
    if platform not in repair_service.RECONNECT_URL_PLATFORMS:
        return _page_error(404, _("This page doesn't exist"))
    customer = current_customer()
    connection = (
        repair_service.connection_to_repair(customer, platform) if customer is not None else None
    )
    if connection is not None:
        with suppress(repair_service.NotRepairable):
            link = repair_service.repair_link(connection)
            return redirect(link.url, 303)
    name = get_platform(platform)
    body, _status = render_error(
        200,
        _("Reconnect your %(platform)s", platform=name.name if name else platform),
        _(
            "To reconnect, open the link the business sent you, or your page of connections "
            "and consents. We can email you a link to your page: it opens in any browser, "
            "and its Reconnect button takes you straight back to %(platform)s.",
            platform=name.name if name else platform,
        ),
        retry_url=url_for("account.fresh_link"),
        retry_label=_("Email me a link"),
    )
    response = Response(body, 200, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


def _page_error(status: int, title: str, message: str | None = None) -> Response:
    body, code = render_error(status, title, message)
    response = Response(body, code, mimetype="text/html")
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/connect/<platform>/callback")
def callback(platform: str) -> Response | tuple[str, int]:
    """The provider sends the customer back: only the browser that started this sign-in
    may finish it, once; any other is shown a neutral page and changes nothing."""
    held = take_authorization(request.args.get("state"))
    held_run = run_by_public_id(held.run_public_id) if held else None
    delegated_by = delegated.held_for(held_run) if held and held.delegate and held_run else None
    if (
        held is not None
        and held.delegate
        and (delegated_by is None or not delegations.is_open(delegated_by))
    ):
        # Revoked (or expired) while the person asked was at the platform: nothing is
        # linked; the attempt fails in time like any the customer never finished.
        response = delegated.refused_callback()
        response.headers["Referrer-Policy"] = "no-referrer"
        return response
    own = current_run() if held_run is None else None
    result = authorization.finish_callback(
        platform, request.args, held_run.id if held_run else None, own.id if own else None
    )
    run = db.session.get(JourneyRun, result.run_id) if result.run_id is not None else None
    journey = journey_for_run(run) if run else None
    if run is None or journey is None:
        body, status = render_error(
            400,
            _("We couldn't match this sign-in to a journey"),
            _("Nothing was connected. Open the link you were sent and start connecting again."),
        )
        response = Response(body, status, mimetype="text/html")
    elif delegated_by is not None:
        # The person the customer asked: back to their own pages, never into the journey.
        response = delegated.after_callback(delegated_by, result)
    elif held is not None and held.popup:
        response = _popup_finished(run, journey, result)
    else:
        response = _continue(run, journey, result)
    # The callback URL carries the code and state: never let it leak as a Referer.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


def _continue(run: JourneyRun, journey: Any, result: authorization.CallbackResult) -> Response:
    """Back in the journey's own window: on to the step the sign-in's outcome leads to."""
    remember_run(run)
    if result.choosing:
        return redirect(url_for("journey.choose_organisation"), 303)
    if result.reason == authorization.ALREADY_USED:
        # An address this browser used already: where the run stands, nothing changed.
        step = steps.current_step(run, journey)
        return redirect(url_for("journey.step", step_id=step.id), 303)
    if result.reason == authorization.STILL_CONNECTING:
        # Back to the connect step, which says the first request is still at work.
        step = journey.first_of("connect") or steps.current_step(run, journey)
        return redirect(url_for("journey.step", step_id=step.id, finishing=1), 303)
    next_step = result.next_step or steps.current_step(run, journey)
    return redirect(url_for("journey.step", step_id=next_step.id), 303)


# An organisation id as platforms form them (Intuit's realmId: digits).
ORGANISATION_ID = re.compile(r"[A-Za-z0-9_.:-]{1,200}")


@bp.get("/connect/<platform>/disconnected")
def disconnected(platform: str) -> Response:
    """Where a platform sends the customer's browser after they disconnected the app
    inside it (Intuit's Disconnect URL, ``?realmId=``). Anyone can open it, so it ends
    nothing by itself: the connections to that organisation are checked at once, which
    finds a revocation if there is one."""
    known = get_platform(platform)
    if known is None or not known.disconnect_url:
        return _page_error(404, _("Page not found"))
    org_id = request.args.get(known.organisation.id, "")
    if not ORGANISATION_ID.fullmatch(org_id):
        return _page_error(
            400,
            _("This address doesn't say which company was disconnected"),
            _("Nothing was changed. Open your page with us to see your connections."),
        )
    connections = health.check_soon(platform, [org_id])
    html = render_template(
        "connections/disconnected.html", platform=known, journey=_business_journey(connections)
    )
    response = Response(html, 200, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


def _business_journey(connections: list[Connection]) -> Journey | None:
    """The journey the customer connected on, whose business the page speaks for; else
    the default journey (templates/_branded.html)."""
    journeys = [journey_for_run(c.run) for c in connections if c.run is not None]
    return next((j for j in journeys if j is not None), None)


@bp.post("/webhooks/platforms/<platform>")
def provider_webhook(platform: str) -> Response:
    """An accounting platform's signed event; answered fast, as Xero wants within 5 s."""
    known = get_platform(platform)
    if known is None:
        return _problem(404, "unknown platform")
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        noted = provider_webhooks.receive(known, request.get_data(cache=False), headers)
    except provider_webhooks.WebhookRefused as refused:
        return _problem(refused.status, refused.detail)
    return jsonify(received=True, connections=noted)


def _popup_finished(
    run: JourneyRun, journey: Any, result: authorization.CallbackResult
) -> Response:
    """The provider's popup is done: tell the frame that opened it, and close."""
    allow_opener()
    g.locale = run.locale
    html = render_template(
        "connections/popup_finished.html",
        journey=journey,
        locale=run.locale,
        platform=get_platform(result.connection.platform if result.connection else ""),
        connection=result.connection,
        linked=result.linked,
        choosing=result.choosing,
    )
    return Response(html, 200, mimetype="text/html")


def _problem(status: int, detail: str) -> Response:
    """An RFC 9457 problem document: machines call this endpoint, not people."""
    response = jsonify(
        type="about:blank", title=HTTPStatus(status).phrase, status=status, detail=detail
    )
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response

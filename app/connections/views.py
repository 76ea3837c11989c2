"""The providers' redirect back to Onramp: one callback URL per platform."""

from __future__ import annotations

from http import HTTPStatus

from flask import Blueprint, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from app.connections import provider_webhooks, service
from app.connections.catalogue import get_platform
from app.errors import render_error
from app.extensions import db
from app.journey import engine
from app.journey.access import current_run, remember_run
from app.journey.versions import journey_for_run
from app.models import JourneyRun

bp = Blueprint("connections", __name__)


@bp.get("/connect/<platform>/callback")
def callback(platform: str) -> Response | tuple[str, int]:
    session_run = current_run()
    result = service.handle_callback(
        platform, request.args, session_run.id if session_run else None
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
    else:
        remember_run(run)
        if result.choosing:
            response = redirect(url_for("journey.choose_organisation"), 303)
            response.headers["Referrer-Policy"] = "no-referrer"
            return response
        linked = result.connection if result.linked else None
        next_step = engine.connection_finished(run, journey, linked, result.reason)
        db.session.commit()
        response = redirect(url_for("journey.step", step_id=next_step.id), 303)
    # The callback URL carries the code and state: never let it leak as a Referer.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


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


def _problem(status: int, detail: str) -> Response:
    """An RFC 9457 problem document: machines call this endpoint, not people."""
    response = jsonify(
        type="about:blank", title=HTTPStatus(status).phrase, status=status, detail=detail
    )
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response

"""The providers' redirect back to Onramp: one callback URL per platform."""

from __future__ import annotations

from flask import Blueprint, redirect, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from app.connections import service
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
        linked = result.connection if result.linked else None
        next_step = engine.connection_finished(run, journey, linked, result.reason)
        db.session.commit()
        response = redirect(url_for("journey.step", step_id=next_step.id), 303)
    # The callback URL carries the code and state: never let it leak as a Referer.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response

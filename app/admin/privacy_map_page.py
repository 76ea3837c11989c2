"""A journey's data map and draft privacy impact assessment: a printable page, Markdown
and JSON exports. Every colleague who can see journeys (``read``) can see them."""

from __future__ import annotations

import json

from flask import Response, abort, render_template

from app.admin import bp
from app.admin.guard import requires
from app.engine import privacy_map
from app.engine.registry import get_journey
from app.ops.evidence import webhook_targets


def _map_or_404(journey_id: str) -> privacy_map.PrivacyMap:
    journey = get_journey(journey_id)
    if journey is None:
        abort(404)
    return privacy_map.build(journey, webhook_targets())


def download(body: str, mimetype: str, filename: str) -> Response:
    """``body`` as a file the browser saves as ``filename``."""
    response = Response(body, content_type=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.route("/journeys/<journey_id>/privacy")
@requires("settings.read")
def journey_privacy(journey_id: str) -> str:
    pm = _map_or_404(journey_id)
    return render_template(
        "admin/journeys/privacy.html",
        pm=pm,
        to_complete=privacy_map.to_complete,
        TO_COMPLETE=privacy_map.TO_COMPLETE,
    )


@bp.route("/journeys/<journey_id>/privacy.md")
@requires("settings.read")
def journey_privacy_markdown(journey_id: str) -> Response:
    pm = _map_or_404(journey_id)
    return download(
        privacy_map.to_markdown(pm),
        "text/markdown; charset=utf-8",
        f"privacy-{pm.journey_id}-{pm.version[:12]}.md",
    )


@bp.route("/journeys/<journey_id>/privacy.json")
@requires("settings.read")
def journey_privacy_json(journey_id: str) -> Response:
    pm = _map_or_404(journey_id)
    return download(
        json.dumps(pm.as_dict(), indent=2, ensure_ascii=False) + "\n",
        "application/json",
        f"privacy-{pm.journey_id}-{pm.version[:12]}.json",
    )

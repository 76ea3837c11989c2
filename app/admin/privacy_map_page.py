"""A journey's data map and draft privacy impact assessment: a printable page, Markdown
and JSON exports. Every colleague who can see journeys (``read``) can see them."""

from __future__ import annotations

import json

from flask import Response, abort, render_template

from app.admin import bp
from app.admin.guard import requires
from app.engine import privacy_map
from app.engine.registry import get_journey
from app.webhooks.endpoints import list_endpoints


def _map_or_404(journey_id: str) -> privacy_map.PrivacyMap:
    journey = get_journey(journey_id)
    if journey is None:
        abort(404)
    hooks = [
        privacy_map.WebhookTarget(e.url, tuple(e.event_types or ()))
        for e in list_endpoints()
        if e.status == "enabled"
    ]
    return privacy_map.build(journey, hooks)


def _download(body: str, mimetype: str, filename: str) -> Response:
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
    return _download(
        privacy_map.to_markdown(pm),
        "text/markdown; charset=utf-8",
        f"privacy-{pm.journey_id}-{pm.version[:12]}.md",
    )


@bp.route("/journeys/<journey_id>/privacy.json")
@requires("settings.read")
def journey_privacy_json(journey_id: str) -> Response:
    pm = _map_or_404(journey_id)
    return _download(
        json.dumps(pm.as_dict(), indent=2, ensure_ascii=False) + "\n",
        "application/json",
        f"privacy-{pm.journey_id}-{pm.version[:12]}.json",
    )

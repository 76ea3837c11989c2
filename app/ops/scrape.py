"""``/metrics``: the Prometheus text format of the counters in app/metrics.py, for a scraper
with METRICS_TOKEN or a signed-in colleague."""

from __future__ import annotations

import hmac

from flask import Blueprint, Flask, Response, abort, current_app, request
from flask_login import current_user
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app.metrics import registry

bp = Blueprint("metrics", __name__)


def _allowed() -> bool:
    token = current_app.config.get("METRICS_TOKEN")
    sent = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        return True
    return bool(current_user.is_authenticated and current_user.can("read"))


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus text format, for a scraper with METRICS_TOKEN or a signed-in colleague."""
    if not _allowed():
        abort(401)
    return Response(generate_latest(registry()), mimetype=CONTENT_TYPE_LATEST)


def init_metrics(app: Flask) -> None:
    app.register_blueprint(bp)

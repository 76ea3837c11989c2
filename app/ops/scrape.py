"""``/metrics``: the Prometheus text format of the counters in app/metrics.py, for a scraper
with METRICS_TOKEN or a signed-in colleague; and the consent ledger's last verification,
read from the database at each scrape (the command that verifies runs elsewhere)."""

from __future__ import annotations

import hmac
from collections.abc import Iterator

from flask import Blueprint, Flask, Response, abort, current_app, request
from flask_login import current_user
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from app.consent import verifications
from app.extensions import db
from app.metrics import registry

bp = Blueprint("metrics", __name__)

CHAIN_VERIFIED = "onramp_consent_chain_verified"
CHAIN_LAST_VERIFIED = "onramp_consent_chain_last_verified_timestamp_seconds"


class LedgerVerification(Collector):
    """What the last ``flask consents verify`` found; nothing when the database can't say."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            last = verifications.latest()
        except SQLAlchemyError:
            db.session.rollback()
            return
        if last.last_ok is not None:
            yield GaugeMetricFamily(
                CHAIN_VERIFIED,
                "1 when the last `flask consents verify` found the consent ledger whole, "
                "0 when it found it broken.",
                value=1 if last.last_ok else 0,
            )
        # 0 (1970) when it never verified: an alert asks for the scheduled verification.
        when = last.last_success_at.timestamp() if last.last_success_at else 0
        yield GaugeMetricFamily(
            CHAIN_LAST_VERIFIED,
            "When `flask consents verify` last found the consent ledger whole (Unix time).",
            value=when,
        )


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
    ledger = CollectorRegistry(auto_describe=False)
    ledger.register(LedgerVerification())
    body = generate_latest(registry()) + generate_latest(ledger)
    return Response(body, mimetype=CONTENT_TYPE_LATEST)


def init_metrics(app: Flask) -> None:
    app.register_blueprint(bp)

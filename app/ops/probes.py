"""Health checks for load balancers and orchestrators: no sign-in, no personal data."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """The process is up and answering."""
    return jsonify(status="ok")


def database_problem() -> str | None:
    """None when the database answers, else the kind of error (no details: no secrets)."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        db.session.rollback()
        return type(exc).__name__
    return None


def redis_problem() -> str | None:
    """None when Redis answers or is not configured, else the kind of error."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    import redis

    try:
        client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        try:
            client.ping()
        finally:
            client.close()
    except redis.RedisError as exc:
        return type(exc).__name__
    return None


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """Ready for traffic: the database, and Redis when configured, are reachable."""
    checks = {"database": database_problem()}
    if current_app.config.get("REDIS_URL"):
        checks["redis"] = redis_problem()
    ready = all(problem is None for problem in checks.values())
    body = {
        "status": "ready" if ready else "unavailable",
        "checks": {name: problem or "ok" for name, problem in checks.items()},
    }
    return jsonify(body), 200 if ready else 503

"""Operations: health checks for load balancers, request ids and JSON logs."""

from __future__ import annotations

import io
import json
import logging
import os
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.extensions import db
from app.ops.logs import json_handler
from tests.conftest import test_settings

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def test_healthz_answers_while_the_process_is_up(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert (response.status_code, response.json) == (200, {"status": "ok"})


def test_readyz_checks_the_database(client: FlaskClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json == {"status": "ready", "checks": {"database": "ok"}}


def _app(tmp_path: Path, **overrides: object) -> Flask:
    from app import create_app

    return create_app(test_settings(tmp_path, **overrides))


def _readyz(app: Flask) -> tuple[int, dict[str, object]]:
    try:
        response = app.test_client().get("/readyz")
        return response.status_code, response.json or {}
    finally:
        with app.app_context():
            db.engine.dispose()


def test_readyz_is_unavailable_without_the_database(tmp_path: Path) -> None:
    app = _app(tmp_path, SQLALCHEMY_DATABASE_URI="sqlite:////nonexistent/dir/onramp.db")
    status, body = _readyz(app)
    assert status == 503
    assert body == {"status": "unavailable", "checks": {"database": "OperationalError"}}


def test_readyz_checks_redis_when_configured(tmp_path: Path) -> None:
    status, body = _readyz(_app(tmp_path, REDIS_URL=REDIS_URL))
    assert (status, body["checks"]) == (200, {"database": "ok", "redis": "ok"})


def test_readyz_is_unavailable_when_redis_is_down(tmp_path: Path) -> None:
    status, body = _readyz(_app(tmp_path, REDIS_URL="redis://127.0.0.1:1/0"))
    assert status == 503
    assert body["checks"] == {"database": "ok", "redis": "ConnectionError"}


def test_every_response_carries_a_request_id(client: FlaskClient) -> None:
    first = client.get("/healthz").headers["X-Request-ID"]
    second = client.get("/healthz").headers["X-Request-ID"]
    assert len(first) == 32
    assert first != second


@pytest.mark.parametrize(
    ("sent", "kept"), [("lb-1234.abc", True), ("x" * 65, False), ("bad id <script>", False)]
)
def test_a_callers_request_id_is_kept_only_when_sane(
    client: FlaskClient, sent: str, kept: bool
) -> None:
    echoed = client.get("/healthz", headers={"X-Request-ID": sent}).headers["X-Request-ID"]
    assert (echoed == sent) == kept


def test_log_lines_are_json_with_the_request_id_and_no_secrets(app: Flask) -> None:
    stream = io.StringIO()
    handler = json_handler()
    handler.setStream(stream)  # type: ignore[attr-defined]
    logger = logging.getLogger("onramp.test")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        with app.test_request_context(headers={"X-Request-ID": "req-42"}):
            app.preprocess_request()
            logger.warning(
                "opened %s with Authorization: Bearer %s after code=%s&state=%s",
                "/j/eyJjIjoiYWJjIn0.sig",
                "onr_abc123_secretsecret",
                "authcode",
                "xyz",
            )
    finally:
        logger.removeHandler(handler)
    line = json.loads(stream.getvalue())
    assert line["level"] == "WARNING"
    assert line["request_id"] == "req-42"
    assert line["logger"] == "onramp.test"
    for secret in ("eyJjIjoiYWJjIn0", "secretsecret", "authcode", "xyz"):
        assert secret not in line["message"]
    assert "/j/[redacted]" in line["message"]

"""Structured JSON logs: one object per line, each with the request id, nothing secret.

Journey links, bearer keys and OAuth codes or tokens that end up in a message are
masked before the line is written, whatever logged them.
"""

from __future__ import annotations

import logging
import re
import uuid

from flask import Flask, Response, g, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

_SECRETS = [
    (re.compile(r"/j/[^/\s\"'?]+"), "/j/[redacted]"),
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+"), r"\1 [redacted]"),
    (
        re.compile(
            r"(?i)\b(code|state|access_token|refresh_token|id_token|client_secret|password"
            r"|code_verifier|token)=[^&\s\"']+"
        ),
        r"\1=[redacted]",
    ),
    (re.compile(r"\bwhsec_[A-Za-z0-9+/=]+"), "whsec_[redacted]"),
    (re.compile(r"\bonr_[A-Za-z0-9_-]+"), "onr_[redacted]"),
]


def redact(text: str) -> str:
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class RequestContext(logging.Filter):
    """Adds the request id (and masks secrets) on every record, inside a request or not."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = g.get("request_id") if has_request_context() else None
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def json_handler() -> logging.Handler:
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonFormatter(
            "{asctime}{levelname}{name}{message}{request_id}",
            style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            timestamp=False,
        )
    )
    handler.addFilter(RequestContext())
    return handler


def init_logging(app: Flask) -> None:
    """Give every request an id (the caller's X-Request-ID when sane) and log as JSON."""

    @app.before_request
    def _request_id() -> None:
        asked = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = asked if _VALID_REQUEST_ID.match(asked) else uuid.uuid4().hex

    @app.after_request
    def _echo_request_id(response: Response) -> Response:
        if "request_id" in g:
            response.headers[REQUEST_ID_HEADER] = g.request_id
        return response

    if app.config["LOG_FORMAT"] == "json":
        app.logger.handlers.clear()
        app.logger.addHandler(json_handler())
        app.logger.setLevel(app.config["LOG_LEVEL"])
        app.logger.propagate = False

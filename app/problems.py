"""RFC 9457 problem details: the one shape every API error takes.

Each kind of problem has a stable ``type`` URI that clients can switch on; the
``title`` never changes for a type, the ``detail`` explains this occurrence, and
validation problems list every offending field in ``errors``. The URIs identify
the problem; they are the same on every Onramp installation (docs/api.md lists them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from flask import Response, request

PROBLEM_MIMETYPE = "application/problem+json"
TYPE_BASE = "https://onramp.dev/problems/"


@dataclass(frozen=True)
class ProblemType:
    slug: str
    status: int
    title: str

    @property
    def uri(self) -> str:
        return TYPE_BASE + self.slug


# Every problem the API can answer with, keyed by slug.
TYPES: dict[str, ProblemType] = {
    t.slug: t
    for t in (
        ProblemType("bad-request", 400, "The request could not be understood"),
        ProblemType("invalid-parameter", 400, "A query parameter or header is not valid"),
        ProblemType("malformed-json", 400, "The request body is not valid JSON"),
        ProblemType("json-too-deep", 400, "The request body is nested too deeply"),
        ProblemType("authentication-required", 401, "A valid API key is required"),
        ProblemType("insufficient-scope", 403, "The API key lacks the scope this needs"),
        ProblemType("not-found", 404, "No such resource"),
        ProblemType("method-not-allowed", 405, "This method is not allowed here"),
        ProblemType("conflict", 409, "The resource is not in a state that allows this"),
        ProblemType("idempotency-in-progress", 409, "A request with this key is in progress"),
        ProblemType("payload-too-large", 413, "The request body is too large"),
        ProblemType("uri-too-long", 414, "The query string is too long"),
        ProblemType("unsupported-media-type", 415, "The request body must be JSON"),
        ProblemType("validation-error", 422, "The request body is not valid"),
        ProblemType(
            "idempotency-key-reused", 422, "This idempotency key was used for another request"
        ),
        ProblemType("provider-unavailable", 503, "The accounting platform could not be reached"),
        ProblemType("database-unavailable", 503, "Onramp's database could not be reached"),
        ProblemType("internal-error", 500, "Something went wrong on our side"),
    )
}


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


@dataclass
class Problem(Exception):
    """Raise anywhere in an API request: the API answers with it as problem+json."""

    slug: str
    detail: str
    errors: list[FieldError] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    # A different status than the type's own (e.g. 404 vs 405 share nothing, but a
    # werkzeug error without a matching type keeps its status).
    status: int | None = None

    def __post_init__(self) -> None:
        if self.slug not in TYPES:
            raise ValueError(f"unknown problem type {self.slug!r}")
        super().__init__(self.detail)

    @property
    def type(self) -> ProblemType:
        return TYPES[self.slug]

    def body(self) -> dict[str, Any]:
        kind = self.type
        body: dict[str, Any] = {
            "type": kind.uri,
            "title": kind.title,
            "status": self.status or kind.status,
            "detail": self.detail,
        }
        if self.errors:
            body["errors"] = [{"field": e.field, "message": e.message} for e in self.errors]
        return body

    def response(self) -> Response:
        body = self.body()
        response = Response(json.dumps(body), status=body["status"], mimetype=PROBLEM_MIMETYPE)
        response.headers.update(self.headers)
        return response


def problem_response(slug: str, detail: str, **kwargs: Any) -> Response:
    """A problem+json response, for code that answers rather than raises."""
    return Problem(slug, detail, **kwargs).response()


# Problem types of the HTTP errors Flask or werkzeug raise; others are a bad-request.
HTTP_PROBLEMS = {
    404: "not-found",
    405: "method-not-allowed",
    413: "payload-too-large",
    414: "uri-too-long",
    415: "unsupported-media-type",
}


def http_problem(status: int, detail: str) -> Response:
    """An HTTP error (404, 405, …) raised by Flask or werkzeug, as a problem document."""
    return problem_response(HTTP_PROBLEMS.get(status, "bad-request"), detail, status=status)


def is_api_request() -> bool:
    """Whether this request is addressed to the JSON API (whether or not a route matched)."""
    return request.path == "/api" or request.path.startswith("/api/")

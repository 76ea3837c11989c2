"""The API's small parts: problem documents, request fingerprints, path templates."""

from __future__ import annotations

import json

import pytest

from app.api.idempotency import fingerprint
from app.api.openapi import _without_null
from app.api.views import api
from app.problems import TYPE_BASE, TYPES, FieldError, Problem


def test_a_problem_is_an_rfc_9457_document() -> None:
    problem = Problem(
        "validation-error", "Check these fields: email.", [FieldError("email", "not an email")]
    )
    response = problem.response()
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert json.loads(response.get_data()) == {
        "type": "https://onramp.dev/problems/validation-error",
        "title": "The request body is not valid",
        "status": 422,
        "detail": "Check these fields: email.",
        "errors": [{"field": "email", "message": "not an email"}],
    }


def test_problem_types_are_stable_uris_with_one_title_each() -> None:
    assert all(t.uri == TYPE_BASE + slug for slug, t in TYPES.items())
    assert len({t.title for t in TYPES.values()}) == len(TYPES)
    assert all(400 <= t.status < 600 for t in TYPES.values())


def test_an_unknown_problem_type_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown problem type"):
        Problem("something-else", "detail")


def test_a_fingerprint_binds_method_path_and_body() -> None:
    base = fingerprint("POST", "/api/v1/x", b"{}")
    assert fingerprint("post", "/api/v1/x", b"{}") == base
    assert fingerprint("PUT", "/api/v1/x", b"{}") != base
    assert fingerprint("POST", "/api/v1/y", b"{}") != base
    assert fingerprint("POST", "/api/v1/x", b"{ }") != base
    # Parts cannot slide into each other.
    assert fingerprint("POST", "/a", b"b") != fingerprint("POST", "/ab", b"")


def test_query_parameters_drop_the_null_branch() -> None:
    schema = {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "null"}], "default": None}
    assert _without_null(schema) == {"type": "integer", "minimum": 1}


def test_every_operation_has_a_summary_a_scope_and_an_openapi_path() -> None:
    for op in api.operations.values():
        assert op.summary and op.description
        assert op.scope in {"read", "write", "credentials", "files"}
        assert "<" not in op.openapi_path and op.openapi_path.startswith("/api/v1/")
        if op.method == "GET":
            assert op.scope in {"read", "credentials", "files"}
        else:
            assert op.scope == "write"

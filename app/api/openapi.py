"""The OpenAPI 3.1 document, built from the operation registry and the pydantic models.

Nothing here is written by hand per endpoint: parameters come from the path patterns
and the query models, bodies and responses from the request and response models, and
the error responses from what each kind of operation can answer (see ``_errors``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from app.api import schemas
from app.api.idempotency import HEADER as IDEMPOTENCY_HEADER
from app.api.idempotency import MAX_KEY_LENGTH
from app.api.operations import JSON_MIMETYPE, Operation, Registry
from app.input_guard import MAX_QUERY_STRING_BYTES
from app.problems import PROBLEM_MIMETYPE, TYPES

OPENAPI_VERSION = "3.1.0"
API_VERSION = "1.0.0"
REF_TEMPLATE = "#/components/schemas/{model}"
Mode = Literal["validation", "serialization"]
# pydantic's map from (model, mode) to the {"$ref": ...} that names its schema.
Refs = Mapping[tuple[Any, Mode], Any]

DESCRIPTION = """\
The JSON API of an Onramp instance, for the business's own backend: create customers
and journey links, read journey runs, consents and connections, withdraw and disconnect
on the customer's behalf, get a working credential for a linked connection, and manage
webhook endpoints. Every error is an RFC 9457 problem+json document; writes accept an
Idempotency-Key header. A method not listed for a path (OPTIONS and TRACE included) is
answered 405 with an Allow header naming the listed ones. See docs/api.md.
"""

# Why each status can happen, for the error responses' descriptions.
WHY = {
    400: "A query parameter, path parameter, header or the JSON syntax is not valid, "
    "text holds a character that cannot be stored (NUL, a lone surrogate), or the body "
    "is nested too deeply.",
    401: "No API key, or one that is unknown or revoked.",
    403: "The API key lacks the scope this operation needs.",
    404: "No such resource.",
    409: "The resource's state does not allow this, or a request with the same "
    "Idempotency-Key is still in progress.",
    413: "The body is larger than the instance allows.",
    414: f"The query string is longer than {MAX_QUERY_STRING_BYTES} bytes.",
    415: "The body is not sent as application/json.",
    422: "The body is not valid (each field is named in errors), or the "
    "Idempotency-Key was used with another request.",
    503: "The database (or, for credentials, the accounting platform) could not be "
    "reached; retry after Retry-After seconds.",
}


def _errors(op: Operation) -> set[int]:
    """Every error status the operation can answer with."""
    # Any request can carry unstorable text (400) or too long a query string (414).
    statuses = set(op.errors) | {400, 414}
    if op.scope is not None:
        # The key is looked up in the database, which may be out of reach (503).
        statuses |= {401, 403, 503}
    if any(p.refuse_as == "not-found" for p in op.path.values()):
        statuses.add(404)
    if op.body is not None:
        statuses |= {400, 413, 415, 422}
    if op.idempotent_writes:
        # A bad key (400), a key still in use (409), a key used for another request (422);
        # the body is read to compare requests, so its size is checked too (413).
        statuses |= {400, 409, 413, 422}
    return statuses


def _models(registry: Registry) -> list[tuple[type[BaseModel], Mode]]:
    wanted: list[tuple[type[BaseModel], Mode]] = [(schemas.ProblemDetails, "serialization")]
    for op in registry.operations.values():
        if op.body is not None:
            wanted.append((op.body, "validation"))
        if op.response is not None:
            wanted.append((op.response, "serialization"))
    return list(dict.fromkeys(wanted))


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter is either absent or a value: drop pydantic's ``null`` branch."""
    schema = dict(schema)
    options = schema.pop("anyOf", None)
    if options is not None:
        rest = [option for option in options if option != {"type": "null"}]
        if len(rest) == 1:
            schema.update(rest[0])
        else:
            schema["anyOf"] = rest
    if schema.get("default", 0) is None:
        del schema["default"]
    schema.pop("title", None)
    return schema


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=REF_TEMPLATE)
    required = set(schema.get("required", []))
    parameters = []
    for name, prop in schema["properties"].items():
        prop_schema = _without_null(prop)
        description = prop_schema.pop("description", None)
        parameter: dict[str, Any] = {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": prop_schema,
        }
        if description:
            parameter["description"] = description
        parameters.append(parameter)
    return parameters


def _parameters(op: Operation) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "description": param.description,
            "schema": {"type": "string", "pattern": param.pattern},
        }
        for name, param in op.path.items()
    ]
    if op.query is not None:
        parameters += _query_parameters(op.query)
    if op.idempotent_writes:
        parameters.append(
            {
                "name": IDEMPOTENCY_HEADER,
                "in": "header",
                "required": False,
                "description": "Retrying with the same key and request replays the first "
                "answer instead of acting twice (kept 24 hours).",
                "schema": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": MAX_KEY_LENGTH,
                    "pattern": "^[\\x20-\\x7e]+$",
                },
            }
        )
    return parameters


def _success(op: Operation, refs: Refs) -> dict[str, Any]:
    response: dict[str, Any] = {"description": op.summary}
    if op.response is not None:
        response["content"] = {JSON_MIMETYPE: {"schema": refs[(op.response, "serialization")]}}
    if op.binary:
        response["content"] = {
            media: {"schema": {"type": "string", "format": "binary"}} for media in op.binary
        }
        response["headers"] = {
            "Content-Disposition": {
                "description": "attachment, with the file's name.",
                "schema": {"type": "string"},
            }
        }
    if op.idempotent_writes:
        response["headers"] = {
            "Idempotent-Replayed": {
                "description": "true when this is the stored answer to an earlier request "
                "with the same Idempotency-Key.",
                "schema": {"type": "string", "enum": ["true"]},
            }
        }
    return response


def _error(status: int, problem_ref: Any) -> dict[str, Any]:
    kinds = ", ".join(t.slug for t in TYPES.values() if t.status == status)
    response: dict[str, Any] = {
        "description": f"{WHY[status]} Problem types: {kinds}.",
        "content": {PROBLEM_MIMETYPE: {"schema": problem_ref}},
    }
    if status == 401:
        response["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}, "required": True}}
    return response


def _operation(op: Operation, refs: Refs) -> dict[str, Any]:
    problem_ref = refs[(schemas.ProblemDetails, "serialization")]
    description = op.description
    if op.scope is not None:
        description = f"{description}\n\nScope: `{op.scope}`.".strip()
    document: dict[str, Any] = {
        "operationId": op.name,
        "summary": op.summary,
        "description": description,
        "tags": [op.tag],
        "parameters": _parameters(op),
        "responses": {str(status): _success(op, refs) for status in (op.status, *op.also)},
        "security": [{"apiKey": []}] if op.scope is not None else [],
    }
    if op.scope is not None:
        document["x-required-scope"] = op.scope
    for status in sorted(_errors(op)):
        document["responses"][str(status)] = _error(status, problem_ref)
    if op.body is not None:
        document["requestBody"] = {
            "required": op.body_required,
            "content": {JSON_MIMETYPE: {"schema": refs[(op.body, "validation")]}},
        }
    return document


def build_document(registry: Registry, config: Mapping[str, Any]) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every operation in ``registry``."""
    refs, definitions = models_json_schema(_models(registry), ref_template=REF_TEMPLATE)
    components = definitions.get("$defs", {})
    _instance_limits(components, config)
    paths: dict[str, dict[str, Any]] = {}
    for op in registry.operations.values():
        paths.setdefault(op.openapi_path, {})[op.method.lower()] = _operation(op, refs)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": "Onramp API", "version": API_VERSION, "description": DESCRIPTION},
        "servers": [{"url": str(config["PUBLIC_URL"])}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "apiKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API key from `flask api-keys create`.",
                }
            },
        },
    }


def _instance_limits(components: dict[str, Any], config: Mapping[str, Any]) -> None:
    """Limits that are this instance's settings, not constants of the models."""
    for name, schema in components.items():
        if name.startswith("LinkRequest"):
            for option in schema["properties"]["expires_in"].get("anyOf", []):
                if option.get("type") == "integer":
                    option["maximum"] = int(config["LINK_MAX_AGE_SECONDS"])

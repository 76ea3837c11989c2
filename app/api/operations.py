"""The API's route registry: each operation is declared once, with everything the
OpenAPI document says about it, and this declaration also drives the request handling.

``@operation(...)`` records the method, path, summary, scope, request and response
models and the errors an operation can answer with; its wrapper parses the query
string and the JSON body with those same models, applies the Idempotency-Key, and
serialises what the view returns. The view receives validated models only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

from flask import Blueprint, Response, g, request
from pydantic import BaseModel, ValidationError

from app import input_guard
from app.api import idempotency
from app.problems import PROBLEM_MIMETYPE, FieldError, Problem

WRITE_METHODS = ("POST", "PUT", "DELETE")
JSON_MIMETYPE = "application/json"


@dataclass(frozen=True)
class PathParam:
    description: str
    pattern: str
    # What a value not matching the pattern gets: no such resource, or a bad parameter
    # (for a PUT that would create the resource).
    refuse_as: str = "not-found"


@dataclass(frozen=True)
class Operation:
    """One endpoint as the OpenAPI document describes it."""

    name: str
    method: str
    rule: str
    summary: str
    description: str
    tag: str
    scope: str | None
    status: int
    response: type[BaseModel] | None
    # Other success statuses answered with the same model (PUT: 201 created, 200 updated).
    also: tuple[int, ...] = ()
    body: type[BaseModel] | None = None
    body_required: bool = True
    query: type[BaseModel] | None = None
    path: dict[str, PathParam] = field(default_factory=dict)
    # Answers besides the ones every operation of its kind can give (see openapi.py).
    errors: tuple[int, ...] = ()
    extra_headers: dict[str, str] = field(default_factory=dict)
    # A file's bytes instead of JSON: the media types it may have (the view returns them
    # as a Response of its own).
    binary: tuple[str, ...] = ()

    @property
    def openapi_path(self) -> str:
        return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", self.rule)

    @property
    def idempotent_writes(self) -> bool:
        return self.method in WRITE_METHODS


@dataclass(frozen=True)
class Reply:
    """What a view answers: a model (or nothing, for 204) and the status."""

    model: BaseModel | None
    status: int | None = None


View = Callable[..., BaseModel | Reply | Response | None]


class Registry:
    """The operations of one blueprint, in declaration order."""

    def __init__(self, blueprint: Blueprint, prefix: str) -> None:
        self.blueprint = blueprint
        self.prefix = prefix
        self.operations: dict[str, Operation] = {}

    def for_endpoint(self, endpoint: str | None) -> Operation | None:
        if endpoint is None or not endpoint.startswith(self.blueprint.name + "."):
            return None
        return self.operations.get(endpoint.split(".", 1)[1])

    def operation(
        self,
        method: str,
        rule: str,
        *,
        summary: str,
        tag: str,
        scope: str | None,
        response: type[BaseModel] | None,
        status: int = 200,
        also: tuple[int, ...] = (),
        body: type[BaseModel] | None = None,
        body_required: bool = True,
        query: type[BaseModel] | None = None,
        path: dict[str, PathParam] | None = None,
        errors: tuple[int, ...] = (),
        extra_headers: dict[str, str] | None = None,
        binary: tuple[str, ...] = (),
    ) -> Callable[[View], View]:
        def register(view: View) -> View:
            op = Operation(
                name=view.__name__,
                method=method,
                rule=self.prefix + rule,
                summary=summary,
                description=(view.__doc__ or "").strip(),
                tag=tag,
                scope=scope,
                status=status,
                response=response,
                also=also,
                body=body,
                body_required=body_required,
                query=query,
                path=path or {},
                errors=errors,
                extra_headers=extra_headers or {},
                binary=binary,
            )
            self.operations[op.name] = op

            @wraps(view)
            def handle(**values: str) -> Response:
                return _handle(op, view, values)

            # OPTIONS is answered as any method the document does not list: a 405.
            self.blueprint.add_url_rule(
                rule,
                endpoint=op.name,
                view_func=handle,
                methods=[method],
                provide_automatic_options=False,
            )
            return view

        return register


def _handle(op: Operation, view: View, values: dict[str, str]) -> Response:
    for name, param in op.path.items():
        if re.fullmatch(param.pattern, values[name]):
            continue
        if param.refuse_as == "not-found":
            raise Problem("not-found", f"No resource has this {name}.")
        raise Problem(
            "invalid-parameter",
            f"The {name} in the path is not valid.",
            [FieldError(name, f"must match {param.pattern}")],
        )
    kwargs: dict[str, Any] = dict(values)
    if op.query is not None:
        kwargs["query"] = _parse_query(op.query)
    if op.body is not None:
        kwargs["body"] = _parse_body(op.body, op.body_required)
    key = request.headers.get(idempotency.HEADER)
    if key is None or not op.idempotent_writes:
        return _respond(op, view, kwargs)
    claim = idempotency.begin(
        g.api_key.id,
        idempotency.check_key(key),
        idempotency.fingerprint(request.method, request.path, request.get_data(cache=True)),
    )
    if isinstance(claim, idempotency.Replay):
        replayed = _json_response(claim.body, claim.status_code)
        replayed.headers["Idempotent-Replayed"] = "true"
        return replayed
    try:
        response = _respond(op, view, kwargs)
    except Problem as problem:
        response = problem.response()
    except BaseException:
        idempotency.release(claim)
        raise
    idempotency.finish(claim, response.status_code, response.get_json(silent=True))
    return response


def _respond(op: Operation, view: View, kwargs: dict[str, Any]) -> Response:
    result = view(**kwargs)
    if isinstance(result, Response):
        return result
    reply = result if isinstance(result, Reply) else Reply(result)
    status = reply.status or op.status
    body = reply.model.model_dump(mode="json") if reply.model is not None else None
    response = _json_response(body, status)
    response.headers.update(op.extra_headers)
    return response


def _json_response(body: Any, status: int) -> Response:
    if body is None:
        return Response(status=status)
    # Every error is a problem document, a replayed one too.
    mimetype = PROBLEM_MIMETYPE if status >= 400 else JSON_MIMETYPE
    return Response(json.dumps(body), status=status, mimetype=mimetype)


def field_errors(exc: ValidationError, where: str = "body") -> list[FieldError]:
    """One entry per problem, naming the field by its path (``event_types.0``)."""
    errors = []
    for error in exc.errors(include_url=False, include_input=False):
        name = ".".join(str(part) for part in error["loc"]) or where
        errors.append(FieldError(name, str(error["msg"])))
    return errors


def _parse_query(model: type[BaseModel]) -> BaseModel:
    repeated = sorted({name for name in request.args if len(request.args.getlist(name)) > 1})
    if repeated:
        raise Problem(
            "invalid-parameter",
            "Give each query parameter once.",
            [FieldError(name, "given more than once") for name in repeated],
        )
    try:
        return model.model_validate(request.args.to_dict())
    except ValidationError as exc:
        errors = field_errors(exc, "query")
        names = ", ".join(e.field for e in errors)
        raise Problem("invalid-parameter", f"Check the query parameters: {names}.", errors) from exc


def _reject_constant(value: str) -> Any:
    raise ValueError(f"{value} is not valid JSON")


def _parse_body(model: type[BaseModel], required: bool) -> BaseModel:
    raw = request.get_data(cache=True)
    if not raw.strip() and not required:
        return model.model_validate({})
    mimetype = request.mimetype
    if mimetype != JSON_MIMETYPE and not mimetype.endswith("+json"):
        raise Problem(
            "unsupported-media-type",
            f"Send the body as JSON with Content-Type: {JSON_MIMETYPE}.",
        )
    try:
        data = json.loads(raw, parse_constant=_reject_constant)
    except RecursionError as exc:  # nested thousands deep: the parser's stack ran out
        raise Problem("json-too-deep", input_guard.TOO_DEEP) from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise Problem("malformed-json", f"The body is not valid JSON: {exc}.") from exc
    input_guard.check_json(data)
    if not isinstance(data, dict):
        raise Problem(
            "validation-error",
            "The body must be a JSON object.",
            [FieldError("body", "must be a JSON object")],
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = field_errors(exc)
        names = ", ".join(e.field for e in errors)
        raise Problem("validation-error", f"Check these fields: {names}.", errors) from exc

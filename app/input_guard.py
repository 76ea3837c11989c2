"""The one gate for what a request carries as text: nothing a database cannot hold gets in.

PostgreSQL refuses a NUL character (U+0000) in text, and a lone surrogate (``\\ud800``,
which a JSON escape can produce) is no text at all: neither is ever valid input. Rather
than every form, filter and model catching them, ``guard_request`` runs before any view
and looks at the path, the query string, form fields and header values; the API checks
its JSON bodies with ``check_json`` where it parses them. People get a page saying what
to do (400), API clients a problem document naming the field. The same gate answers
414 to a query string over ``MAX_QUERY_STRING_BYTES`` (gunicorn lets longer request
lines through, see app/gunicorn_conf.py, so the answer is the app's own).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import IO, Any, TypeVar

from flask import Flask, Response, current_app, make_response, request
from flask_babel import gettext as _
from htmx_flask import HtmxAwareRequest
from werkzeug.routing import IntegerConverter, Map

from app.errors import render_error
from app.problems import FieldError, Problem, is_api_request

MAX_QUERY_STRING_BYTES = 4096
# API bodies are a few levels deep; far below where Python's JSON parser gives up.
MAX_JSON_DEPTH = 64
TOO_DEEP = f"The body is nested more than {MAX_JSON_DEPTH} levels deep; send a flatter document."
UNSTORABLE_MESSAGE = "contains a character that cannot be stored (a NUL or a lone surrogate)"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


View = TypeVar("View", bound=Callable[..., Any])


def signed_path(view: View) -> View:
    """Mark a view whose path is a signed token (a journey or manage link, a handoff).

    Any character the guard would refuse there breaks the signature, which the view
    checks before anything reaches the database; its own page ("This link isn't valid",
    with what to do) serves the customer better than the guard's.
    """
    view.signed_path = True  # type: ignore[attr-defined]
    return view


def _path_is_signed() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, "signed_path", False))


def unstorable(text: str) -> bool:
    """Whether ``text`` holds a character no text column can store."""
    return _UNSTORABLE.search(text) is not None


def _shown(name: str) -> str:
    # A field's name is echoed back: without the character that made it unusable.
    return _UNSTORABLE.sub("\ufffd", name)


def _has_body(environ: dict[str, Any]) -> bool:
    """Whether the request says it carries a body: a page's GET does not, and then there is
    no form to read (Werkzeug would read nothing and parse an empty one)."""
    return environ.get("CONTENT_LENGTH", "") not in ("", "0") or bool(
        environ.get("HTTP_TRANSFER_ENCODING")
    )


def _first_unstorable() -> tuple[str, str] | None:
    """Where the request carries unstorable text: (``path``/``query``/``form``/``header``, name)."""
    asked = request._get_current_object()  # type: ignore[attr-defined]
    if unstorable(asked.path) and not _path_is_signed():
        return "path", "path"
    sources = [("query", asked.args)]
    if _has_body(asked.environ) and not is_api_request():
        # The API reads JSON only, with its own body size limit. Keep the raw body:
        # parsing the form would consume it, and a platform's signed webhook checks its
        # signature on those bytes, whatever its Content-Type.
        asked.get_data(cache=True)
        sources.append(("form", asked.form))
    for where, values in sources:
        for name, value in values.items(multi=True):
            # A multipart part whose name can't be read arrives with the name None.
            if unstorable(name or "") or unstorable(value or ""):
                return where, _shown(name or "")
    for name, value in asked.headers.items():
        if unstorable(value):
            return "header", name
    return None


def guard_request() -> Response | None:
    """Refuse a request whose query string is too long or whose text cannot be stored."""
    if len(request.query_string) > MAX_QUERY_STRING_BYTES:
        if is_api_request():
            return Problem(
                "uri-too-long",
                f"The query string is longer than {MAX_QUERY_STRING_BYTES} bytes.",
            ).response()
        return make_response(render_error(414))
    found = _first_unstorable()
    if found is None:
        return None
    where, name = found
    if is_api_request():
        return Problem(
            "invalid-parameter",
            f"The {where} {name!r} {UNSTORABLE_MESSAGE}.",
            [FieldError(name, UNSTORABLE_MESSAGE)],
        ).response()
    return make_response(
        render_error(
            400,
            _("Something you sent can't be used"),
            _(
                "It contains a character that can't be stored, such as an invisible null "
                "character. Go back, remove it and try again."
            ),
        )
    )


def check_json(document: Any) -> None:
    """Raise a problem if a parsed JSON body nests deeper than ``MAX_JSON_DEPTH`` (400)
    or holds a string or key that cannot be stored (422, naming it: ``event_types.1``)."""
    # Depth first, without recursion: a deep document must not exhaust the stack here.
    stack: list[tuple[Any, tuple[str, ...], int]] = [(document, (), 1)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, str) and unstorable(value):
            _refuse_json_text(path)
        if not isinstance(value, dict | list):
            continue
        if depth > MAX_JSON_DEPTH:
            raise Problem("json-too-deep", TOO_DEEP)
        items = value.items() if isinstance(value, dict) else enumerate(value)
        children = []
        for key, child in items:
            child_path = (*path, _shown(str(key)))
            if isinstance(key, str) and unstorable(key):
                _refuse_json_text(child_path)
            children.append((child, child_path, depth + 1))
        stack.extend(reversed(children))  # reported in document order


def _refuse_json_text(path: tuple[str, ...]) -> None:
    name = ".".join(path) or "body"
    raise Problem(
        "validation-error",
        f"Check these fields: {name}.",
        [FieldError(name, UNSTORABLE_MESSAGE)],
    )


class RowIdConverter(IntegerConverter):
    """``<int:…>`` in every route: a whole number a database id column can hold.

    Werkzeug's own takes any length of digits, and PostgreSQL refuses an integer past
    2**31 - 1 with an error rather than finding no row: such a path is simply not found.
    """

    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)


def init_routing(app: Flask) -> None:
    """Before any blueprint is registered: the converters its routes are built with."""
    app.url_map.converters["int"] = RowIdConverter


def init_input_guard(app: Flask) -> None:
    app.before_request(guard_request)


class ClosingRequest(HtmxAwareRequest):
    """A request that closes every file stream its form parser opened, also those of a
    multipart body refused halfway (too many parts, too large): Werkzeug hands only a
    fully parsed form's files to ``close()``."""

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        stream = super()._get_file_stream(
            total_content_length, content_type, filename, content_length
        )
        self.__dict__.setdefault("_opened_streams", []).append(stream)
        return stream

    def close(self) -> None:
        super().close()
        for stream in self.__dict__.pop("_opened_streams", []):
            stream.close()

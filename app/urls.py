"""Absolute URLs built from PUBLIC_URL, never from the request's Host header; the one
check of a place the request asks to be sent to next; and addresses built once.

Links sent to customers and the OAuth redirect URI must be exact and must not be
steered by a forged Host header; they must also be buildable from the CLI.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, has_request_context, request


def public_url(endpoint: str, **values: Any) -> str:
    path = current_app.url_map.bind("onramp.invalid").build(endpoint, values)
    return str(current_app.config["PUBLIC_URL"]) + path


def safe_path(target: str | None, under: str = "/") -> str | None:
    """``target`` if it is a path on this site at or under ``under``, else None.

    Refused: another site (a scheme, a host, ``//host``), a backslash (browsers read
    it as ``/``), and any control character: browsers drop tabs and line breaks from
    addresses, and a line break cannot go in a ``Location`` header at all.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(unicodedata.category(char) == "Cc" for char in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    prefix = under.rstrip("/")
    if prefix and parts.path != prefix and not parts.path.startswith(prefix + "/"):
        return None
    return target


def remembered(build: Callable[..., Any]) -> Callable[..., str]:
    """``build`` (``url_for`` or one like it), answering from memory for an endpoint and
    arguments it has built before under the same script root.

    Every page names the same few addresses, and building one with Werkzeug's URL map
    costs as much as rendering a small template. An address is kept per script root (the
    prefix a proxy may serve the app under) and arguments, so it is only reused where it
    would be built the same: internal paths, with no ``url_defaults`` reading the request.
    """

    @lru_cache(maxsize=1024)
    def known(script_root: str, endpoint: str, values: tuple[tuple[str, Any], ...]) -> str:
        return str(build(endpoint, **dict(values)))

    def url(endpoint: str, **values: Any) -> str:
        if any(name.startswith("_") for name in values):
            # ``_external`` and the like depend on the request's host: built each time.
            return str(build(endpoint, **values))
        script_root = request.script_root if has_request_context() else ""
        return known(script_root, endpoint, tuple(sorted(values.items())))

    return url

"""Absolute URLs built from PUBLIC_URL, never from the request's Host header, and the
one check of a place the request asks to be sent to next.

Links sent to customers and the OAuth redirect URI must be exact and must not be
steered by a forged Host header; they must also be buildable from the CLI.
"""

from __future__ import annotations

import unicodedata
from typing import Any
from urllib.parse import urlsplit

from flask import current_app


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

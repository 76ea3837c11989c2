"""Absolute URLs built from PUBLIC_URL, never from the request's Host header.

Links sent to customers and the OAuth redirect URI must be exact and must not be
steered by a forged Host header; they must also be buildable from the CLI.
"""

from __future__ import annotations

from typing import Any

from flask import current_app


def public_url(endpoint: str, **values: Any) -> str:
    path = current_app.url_map.bind("onramp.invalid").build(endpoint, values)
    return str(current_app.config["PUBLIC_URL"]) + path

"""A stand-in for the vendors' servers that answers with their documented sample bodies.

Each platform's hosts are swapped for this server (as ``SANDBOX_PLAYS`` swaps them for
the Sandbox), so Onramp's real client code — Authlib sessions, look-ups, refresh,
revocation — runs over HTTP and meets the bodies exactly as the vendor documents them.
The server records what Onramp sent, so a test can check it against the vendor's rules.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from werkzeug.wrappers import Request, Response

from app.connections.oauth import ProviderConfig, provider_config
from app.platforms import PLATFORMS
from tests.serving import loopback_port, serving

VENDORS = Path(__file__).with_name("vendors")
REAL_PLATFORMS = sorted(key for key in PLATFORMS if key != "sandbox")


def vendor(key: str) -> dict[str, Any]:
    """The vendor's documented facts and samples (tests/contract/vendors/<key>.json)."""
    found: dict[str, Any] = json.loads((VENDORS / f"{key}.json").read_text(encoding="utf-8"))
    return found


def sample(key: str, name: str) -> Any:
    """A documented sample body."""
    return vendor(key)["samples"][name]["body"]


@dataclass
class Seen:
    """One request Onramp made."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class VendorReplay:
    """Answers (method, path) with a status and JSON body; 404 for anything else."""

    base: str
    answers: dict[tuple[str, str], tuple[int, Any]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)

    def answer(self, method: str, url: str, body: Any, status: int = 200) -> None:
        """Answer requests to ``url`` (a full URL of this server, or a path)."""
        self.answers[(method, urlsplit(url).path)] = (status, body)

    def requests_to(self, url: str) -> list[Seen]:
        path = urlsplit(url).path
        return [seen for seen in self.seen if seen.path == path]

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        self.seen.append(
            Seen(request.method, request.path, dict(request.headers), request.get_data())
        )
        status, body = self.answers.get((request.method, request.path), (404, {"error": "nf"}))
        response = Response(json.dumps(body), status=status, mimetype="application/json")
        return response(environ, start_response)


@pytest.fixture(scope="session")
def _replay_server() -> Iterator[VendorReplay]:
    with loopback_port() as port:
        replay = VendorReplay(port.url)
        with serving(replay, port):
            yield replay


@pytest.fixture
def replay(_replay_server: VendorReplay) -> VendorReplay:
    _replay_server.answers.clear()
    _replay_server.seen.clear()
    return _replay_server


@pytest.fixture
def vendors(app: Flask, replay: VendorReplay) -> Flask:
    """Every platform configured, its vendor hosts swapped for the replay server."""
    app.config["SANDBOX_URL"] = replay.base
    app.config["SANDBOX_PLAYS"] = REAL_PLATFORMS
    app.config["NETSUITE_ACCOUNT_ID"] = "TSTDRV1234567"
    return app


def provider(app: Flask, key: str) -> ProviderConfig:
    with app.app_context():
        found = provider_config(key)
    assert found is not None, key
    return found

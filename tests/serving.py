"""Loopback servers for the tests, on a port held from the moment it is chosen.

A server's address is often needed before its app exists (``PUBLIC_URL``, and so the
OAuth redirect URI, names the port). Choosing a free port, letting it go and binding it
again seconds later races every other socket on the machine: a client's ephemeral port
(a database connection, a browser's) may take it meanwhile, and Werkzeug then ends the
whole process with ``SystemExit`` rather than raising. Here the socket chosen is the
socket served, so that race cannot happen.

    with loopback_port() as port:
        app = create_app(test_settings(folder, PUBLIC_URL=port.url))
        with serving(app, port):
            ...
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class LoopbackPort:
    """A listening socket on loopback, bound and held until a server takes it over."""

    listener: socket.socket

    @property
    def port(self) -> int:
        port: int = self.listener.getsockname()[1]
        return port

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"


@contextmanager
def loopback_port() -> Iterator[LoopbackPort]:
    listener = socket.create_server((HOST, 0))
    try:
        yield LoopbackPort(listener)
    finally:
        listener.close()


@contextmanager
def serving(app: Any, port: LoopbackPort | None = None) -> Iterator[BaseWSGIServer]:
    """Serve the WSGI ``app`` on ``port`` (or on a port of its own) in a thread until the
    block ends; ``server.server_port`` is the port."""
    if port is None:
        server = make_server(HOST, 0, app, threaded=True)
    else:
        # Werkzeug serves a duplicate of the held socket's descriptor.
        server = make_server(HOST, port.port, app, threaded=True, fd=port.listener.fileno())
    thread = threading.Thread(target=server.serve_forever, name="test-server", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def start_gunicorn(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Onramp under its shipped gunicorn settings (app/gunicorn_conf.py), as production
    serves it; ``env`` gives HOST, PORT and the app's settings. The caller stops it."""
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "app/gunicorn_conf.py", "app:create_app()"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

"""Gunicorn settings for `make run` and production: threaded workers, redacted access log.

Threads matter: the app calls OAuth providers (the built-in Sandbox included, which
may be served by this very process) and must never block other customers meanwhile.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gunicorn.config import ControlSocket
from gunicorn.glogging import Logger

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '5000')}"
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
# How many connections one web worker holds at once: its busy threads plus idle keep-alive
# connections. With gunicorn's default (1,000) whichever worker wakes first takes every
# connection a burst opens: with 16 keep-alive clients, one of two workers was seen holding
# 13 to 16 of them while the other core sat idle (bench/README.md). Twice the threads keeps
# each worker's share near what it can serve; the kernel's listen backlog holds the rest
# until a worker has room. A load balancer should open at most WEB_CONCURRENCY times this
# many connections to an instance (docs/deployment.md).
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", str(2 * threads)))
# Gunicorn's own limit (4094 bytes) would answer a long query string with its HTML 414;
# the app answers one over 4 KB itself (app/input_guard.py), in problem+json for the API.
# 8190 is the most gunicorn accepts.
limit_request_line = 8190
accesslog = "-"
# JSON, like the application's own log lines, with the request id the app answered with.
access_log_format = (
    '{"time": "%(t)s", "remote": "%(h)s", "request": "%(m)s %(U)s", "status": %(s)s, '
    '"bytes": "%(B)s", "ms": %(M)s, "request_id": "%({x-request-id}o)s"}'
)


def control_socket_for(port: str) -> str:
    """Where the instance on ``port`` listens for ``gunicornc``: gunicorn's own folder for
    it, one socket per port. Gunicorn's default is one path for every instance a user runs,
    so a second instance on the host would take it over from the first."""
    folder = Path(str(ControlSocket.default)).parent
    return str(folder / f"gunicorn-{port}.ctl")


control_socket = control_socket_for(os.environ.get("PORT", "5000"))

# Journey links carry a signed token in their path: it is a credential, keep it out of logs.
_SECRET_PATHS = re.compile(r"^/j/[^/]+")


def redact_path(path: str) -> str:
    return _SECRET_PATHS.sub("/j/[redacted]", path)


class RedactingLogger(Logger):
    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        atoms["U"] = redact_path(str(atoms.get("U", "")))
        return atoms


logger_class = RedactingLogger


# The webhook delivery worker runs beside the web workers: one process per gunicorn master
# (not per web worker), started when the master is ready, restarted if it dies, stopped
# when the master exits, and stopping by itself if the master is killed outright.
# ONRAMP_WEBHOOK_WORKER=false turns it off, e.g. when workers run on their own with
# `flask webhooks deliver`.
_DELIVERY_COMMAND = [
    sys.executable,
    "-m",
    "flask",
    "--app",
    "app:create_app",
    "webhooks",
    "deliver",
]
_RESTART_DELAY_SECONDS = 5.0
_STOP_TIMEOUT_SECONDS = 30.0


def webhook_worker_enabled(environ: Mapping[str, str] = os.environ) -> bool:
    value = environ.get("ONRAMP_WEBHOOK_WORKER", "true").strip().lower()
    return value not in {"0", "false", "no", "off"}


class DeliveryWorkerProcess:
    """`flask webhooks deliver` as a child of the gunicorn master, kept running."""

    def __init__(
        self,
        log: Any,
        command: list[str] | None = None,
        restart_delay: float = _RESTART_DELAY_SECONDS,
    ) -> None:
        self.log = log
        # Built in the master: a worker outliving it (kill -9) sees its parent change, stops.
        self.command = command or [*_DELIVERY_COMMAND, "--parent-pid", str(os.getpid())]
        self.restart_delay = restart_delay
        self.stopping = threading.Event()
        self.process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        threading.Thread(target=self._supervise, name="webhook-worker", daemon=True).start()

    def _supervise(self) -> None:
        while not self.stopping.is_set():
            with self._lock:
                if self.stopping.is_set():
                    return
                self.process = subprocess.Popen(self.command)
            self.log.info("webhook delivery worker started (pid %s)", self.process.pid)
            # The master may reap this child itself (it waits for any child); then the
            # code reads as 0. Either way the worker is gone and is started again.
            code = self.process.wait()
            if not self.stopping.is_set():
                self.log.warning("webhook delivery worker exited (%s); restarting", code)
                self.stopping.wait(self.restart_delay)

    def stop(self) -> None:
        with self._lock:
            self.stopping.set()
            process = self.process
        if process is None or process.poll() is not None:
            return
        process.terminate()  # SIGTERM: the delivery in hand finishes first
        try:
            process.wait(_STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def record_public_url(environ: Mapping[str, str] = os.environ) -> None:
    """Say where this server is (``make run`` sets ONRAMP_PUBLIC_URL from HOST and PORT),
    so that `flask invite` in another shell prints links to it, not to port 5000."""
    from app.config import record_server_url, server_file

    public_url = environ.get("ONRAMP_PUBLIC_URL")
    if public_url:
        record_server_url(server_file(), public_url.rstrip("/"), os.getpid())


def forget_public_url() -> None:
    """The server stops: what it recorded no longer says where a server is."""
    from app.config import server_file

    path = server_file()
    try:
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError, AttributeError):
        pass


def when_ready(server: Any) -> None:
    record_public_url()
    # Kept on the arbiter (the master) rather than in a module global.
    server.webhook_worker = None
    if webhook_worker_enabled():
        server.webhook_worker = DeliveryWorkerProcess(server.log)
        server.webhook_worker.start()


def on_exit(server: Any) -> None:
    forget_public_url()
    worker = getattr(server, "webhook_worker", None)
    if worker is not None:
        worker.stop()


def on_starting(server: Any) -> None:
    """Every process (web workers, the delivery worker) counts into one shared folder, so
    /metrics adds up the figures of all of them, whichever worker answers the scrape."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:
        folder = tempfile.mkdtemp(prefix="onramp-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    for stale in Path(folder).glob("*.db"):
        stale.unlink()


def child_exit(server: Any, worker: Any) -> None:
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]

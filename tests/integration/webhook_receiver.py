"""A real webhook receiver for the tests: a threaded HTTP server on 127.0.0.1 that records
every request and answers from a script (status, headers, or holding the request open)."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    # Keep the request open until this event is set (a slow or hung receiver).
    hold: threading.Event | None = None


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def webhook_id(self) -> str:
        return self.headers["webhook-id"]

    def verify(self, secret: str) -> Any:
        """The payload, if the signature verifies with ``secret`` (raises otherwise)."""
        return Webhook(secret).verify(self.body, self.headers)


class Receiver:
    def __init__(self) -> None:
        self.requests: list[Received] = []
        self._script: deque[Reply] = deque()
        self._holds: list[threading.Event] = []
        self._arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver._arrived:
                    receiver.requests.append(
                        Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    reply = receiver._script.popleft() if receiver._script else Reply()
                    receiver._arrived.notify_all()
                if reply.hold is not None:
                    reply.hold.wait(30)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the sender hung up (timed out or was killed)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def answer(self, *replies: Reply) -> None:
        """Answer the next requests with these replies, then 200."""
        for reply in replies:
            if reply.hold is not None:
                self._holds.append(reply.hold)
            self._script.append(reply)

    def wait_for(self, count: int, timeout: float = 30) -> bool:
        with self._arrived:
            return self._arrived.wait_for(lambda: len(self.requests) >= count, timeout)

    def close(self) -> None:
        for hold in self._holds:
            hold.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

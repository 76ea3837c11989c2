"""A real webhook receiver for the tests: a threaded HTTP server on 127.0.0.1 that records
every request and answers from a script (status, headers, or holding the request open)."""

from __future__ import annotations

import select
import socket
import threading
from collections import deque
from collections.abc import Callable
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


def _sender_gone(connection: socket.socket) -> bool:
    """Whether the sender hung up while its request was held (it died or gave up): then
    nobody is there to read an answer."""
    try:
        readable, _, _ = select.select([connection], [], [], 0)
        return bool(readable) and connection.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


class Receiver:
    def __init__(self, port: int = 0) -> None:
        self.requests: list[Received] = []
        # Requests answered 2xx to a sender still there to read the answer: deliveries
        # the sender knows succeeded. A held request whose sender died is not among them.
        self.acknowledged: list[Received] = []
        self.unanswered: list[Received] = []
        self._script: deque[Reply] = deque()
        self._hold_rules: list[tuple[Callable[[Received], bool], threading.Event]] = []
        self._holds: list[threading.Event] = []
        self._arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                received = Received(
                    self.path, {k.lower(): v for k, v in self.headers.items()}, body
                )
                reply = receiver._reply_to(received)
                if reply.hold is not None:
                    reply.hold.wait(30)
                    if _sender_gone(self.connection):
                        with receiver._arrived:
                            receiver.unanswered.append(received)
                        return
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    self.wfile.flush()
                except OSError:
                    return  # the sender hung up (timed out or was killed)
                if 200 <= reply.status < 300:
                    with receiver._arrived:
                        receiver.acknowledged.append(received)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
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

    def hold_first(self, matching: Callable[[Received], bool], until: threading.Event) -> None:
        """Hold the next request ``matching`` open, unanswered, until ``until`` is set."""
        self._holds.append(until)
        with self._arrived:
            self._hold_rules.append((matching, until))

    def _reply_to(self, received: Received) -> Reply:
        with self._arrived:
            self.requests.append(received)
            reply = self._script.popleft() if self._script else Reply()
            for rule in self._hold_rules:
                matching, until = rule
                if matching(received):
                    self._hold_rules.remove(rule)
                    reply = Reply(reply.status, reply.headers, hold=until)
                    break
            self._arrived.notify_all()
        return reply

    def wait_for(self, count: int, timeout: float = 30) -> bool:
        return self.wait_until(lambda: len(self.requests) >= count, timeout)

    def wait_until(self, condition: Callable[[], bool], timeout: float = 30) -> bool:
        """Wait until ``condition`` holds, looked at each time a request arrives."""
        with self._arrived:
            return self._arrived.wait_for(condition, timeout)

    def close(self) -> None:
        for hold in self._holds:
            hold.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

"""A real SMTP server on a free local port (aiosmtpd) that keeps what it receives."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

REFUSED_FOR_GOOD = "550 5.1.1 No such mailbox here"
REFUSED_FOR_NOW = "450 4.2.1 Mailbox busy, try again later"


class Sink:
    def __init__(self, refuse: tuple[str, ...] = (), refusal: str = REFUSED_FOR_GOOD) -> None:
        self.messages: list[EmailMessage] = []
        # Recipients this server refuses, with ``refusal`` (for good, as for a mailbox that
        # is gone, unless told otherwise).
        self.refuse = {address.lower() for address in refuse}
        self.refusal = refusal

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address.lower() in self.refuse:
            return self.refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


@contextmanager
def smtp_sink(
    refuse: tuple[str, ...] = (), refusal: str = REFUSED_FOR_GOOD
) -> Iterator[tuple[Sink, dict[str, Any]]]:
    """A running sink and the settings that send to it (plain SMTP on loopback); it
    refuses the addresses in ``refuse`` with ``refusal``."""
    sink = Sink(refuse, refusal)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings = {
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": port,
            "SMTP_SECURITY": "none",
            "MAIL_FROM": "Northwind Lending <consents@northwind.test>",
        }
        yield sink, settings
    finally:
        controller.stop()

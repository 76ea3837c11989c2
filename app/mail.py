"""Email to customers (receipts, reminders, fresh links), sent only when SMTP is configured.

Python's own smtplib speaks SMTP with STARTTLS or implicit TLS; a failure is logged
(without the address or the content) and reported to the caller, never raised: an
email that could not go out must not undo the consent it was about.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

from flask import current_app

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mimetype: str = "application/octet-stream"


def enabled() -> bool:
    return bool(current_app.config.get("SMTP_HOST"))


def send(
    to: str,
    subject: str,
    text: str,
    *,
    html: str | None = None,
    attachments: tuple[Attachment, ...] = (),
) -> bool:
    """Send one message; True when the server accepted it, False if not sent."""
    if not enabled():
        return False
    config = current_app.config
    message = EmailMessage()
    message["From"] = config["MAIL_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="onramp")
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    for attachment in attachments:
        maintype, subtype = attachment.mimetype.split("/", 1)
        message.add_attachment(
            attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename
        )
    host, port = config["SMTP_HOST"], int(config["SMTP_PORT"])
    timeout = float(config["SMTP_TIMEOUT_SECONDS"])
    security = str(config["SMTP_SECURITY"]).lower()
    try:
        smtp: smtplib.SMTP
        if security == "ssl":
            smtp = smtplib.SMTP_SSL(
                host, port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
        with smtp:
            if security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if config.get("SMTP_USERNAME"):
                smtp.login(config["SMTP_USERNAME"], config["SMTP_PASSWORD"] or "")
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("email %r not sent: %s", subject, type(exc).__name__)
        return False
    return True

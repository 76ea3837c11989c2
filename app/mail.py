"""Email to customers (receipts, reminders, repair links, fresh links), sent only when SMTP
is configured.

Mail leaves the request path: ``queue`` writes the message to the outbox table in the
caller's transaction, with the change it reports, and the worker's ``send_due`` sends it
with retries and backoff. A slow or down mail server never slows or breaks a customer's
page, and an email that could not go out never undoes the consent it was about.

Python's own smtplib speaks SMTP with STARTTLS or implicit TLS; a failure is logged
without the address or the content.
"""

from __future__ import annotations

import base64
import logging
import smtplib
import ssl
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

from flask import current_app
from sqlalchemy import or_, select, update

from app import clock
from app.extensions import db
from app.models import ConsentReceipt, ConsentReminder, MailMessage
from app.vault import decrypt_json, encrypt_json

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    mimetype: str = "application/octet-stream"


def enabled() -> bool:
    return bool(current_app.config.get("SMTP_HOST"))


class NotSent(Exception):
    """The mail server could not be reached or refused the message. ``bounced``: it
    refused the recipient for good (a 5xx answer), so trying again cannot help."""

    def __init__(self, reason: str, *, bounced: bool = False) -> None:
        super().__init__(reason)
        self.bounced = bounced


# How last_error starts on a message the server refused for good (see ``is_bounced``).
BOUNCED = "bounced"


def _refused_for_good(exc: Exception) -> bool:
    """Whether the server refused the recipient or the message with a permanent (5xx)
    answer while we were sending. Later bounces (DSNs mailed back to the sender's mailbox)
    are not seen here."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        return bool(codes) and all(code >= 500 for code in codes)
    return isinstance(exc, smtplib.SMTPDataError) and exc.smtp_code >= 500


def is_bounced(message: MailMessage) -> bool:
    """The message failed because the mail server refused its recipient."""
    return message.status == "failed" and (message.last_error or "").startswith(BOUNCED)


def _deliver(
    to: str, subject: str, text: str, html: str | None, attachments: tuple[Attachment, ...]
) -> None:
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
        bounced = _refused_for_good(exc)
        reason = f"{BOUNCED}: {type(exc).__name__}" if bounced else type(exc).__name__
        raise NotSent(reason, bounced=bounced) from exc


# The outbox


def queue(
    kind: str,
    to: str,
    subject: str,
    text: str,
    *,
    html: str | None = None,
    attachments: tuple[Attachment, ...] = (),
    customer_id: int | None = None,
    about: str | None = None,
) -> MailMessage | None:
    """Write a message to the outbox in the caller's transaction (the caller commits);
    None when mail is not configured. ``about`` is the public id of what it reports (a
    receipt, a consent record), marked emailed once it is sent."""
    if not enabled():
        return None
    content = {
        "to": to,
        "subject": subject,
        "text": text,
        "html": html,
        "attachments": [
            {
                "filename": a.filename,
                "mimetype": a.mimetype,
                "content": base64.b64encode(a.content).decode(),
            }
            for a in attachments
        ],
    }
    message = MailMessage(
        kind=kind,
        about=about,
        customer_id=customer_id,
        message_ciphertext=encrypt_json(content),
        next_attempt_at=clock.now(),
    )
    db.session.add(message)
    return message


def retry_delay(attempts: int) -> timedelta:
    """How long after its ``attempts``-th failure a message is tried again: doubling from
    a minute, at most six hours."""
    return timedelta(seconds=min(60 * 2 ** max(attempts - 1, 0), 6 * 60 * 60))


def send_due(limit: int = 50) -> int:
    """Send the outbox's messages that are due, oldest first; returns how many were tried.

    Safe from several workers at once: each message is claimed with a lease first.
    """
    if not enabled():
        return 0
    now = clock.now()
    due = db.session.scalars(
        select(MailMessage.id)
        .where(
            MailMessage.status == "pending",
            MailMessage.next_attempt_at <= now,
            or_(MailMessage.claimed_until.is_(None), MailMessage.claimed_until < now),
        )
        .order_by(MailMessage.next_attempt_at, MailMessage.id)
        .limit(limit)
    ).all()
    return sum(_send_one(message_id) for message_id in due)


def _send_one(message_id: int) -> bool:
    now = clock.now()
    lease = timedelta(seconds=float(current_app.config["SMTP_TIMEOUT_SECONDS"]) * 3 + 30)
    claimed = db.session.execute(
        update(MailMessage)
        .where(
            MailMessage.id == message_id,
            MailMessage.status == "pending",
            or_(MailMessage.claimed_until.is_(None), MailMessage.claimed_until < now),
        )
        .values(claimed_until=now + lease)
    )
    db.session.commit()
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return False
    message = db.session.get(MailMessage, message_id)
    if message is None or not message.message_ciphertext:
        return False
    content: dict[str, Any] = decrypt_json(message.message_ciphertext)
    attachments = tuple(
        Attachment(a["filename"], base64.b64decode(a["content"]), a["mimetype"])
        for a in content.get("attachments", [])
    )
    message.attempts += 1
    message.claimed_until = None
    try:
        _deliver(content["to"], content["subject"], content["text"], content["html"], attachments)
    except NotSent as exc:
        message.last_error = str(exc)[:200]
        if exc.bounced:
            # Refused for good: no retries. When it was given up, for the console.
            message.status = "failed"
            message.message_ciphertext = None
            message.next_attempt_at = clock.now()
        elif message.attempts >= int(current_app.config["MAIL_MAX_ATTEMPTS"]):
            message.status = "failed"
            message.message_ciphertext = None
        else:
            message.next_attempt_at = clock.now() + retry_delay(message.attempts)
        db.session.commit()
        return True
    message.status = "sent"
    message.sent_at = clock.now()
    message.last_error = None
    # Sent: the outbox keeps no copy of what it said to whom.
    message.message_ciphertext = None
    _mark_sent(message)
    db.session.commit()
    return True


def _mark_sent(message: MailMessage) -> None:
    """What a sent message reported now says it was emailed."""
    if message.about is None:
        return
    if message.kind == "receipt":
        db.session.execute(
            update(ConsentReceipt)
            .where(ConsentReceipt.public_id == message.about)
            .values(emailed_at=message.sent_at)
        )
    elif message.kind == "consent_reminder":
        db.session.execute(
            update(ConsentReminder)
            .where(ConsentReminder.record_id == message.about)
            .values(emailed=True)
        )

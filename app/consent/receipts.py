"""Consent receipts: what a customer agreed to at a consent step, signed, for them to keep.

A receipt follows the Kantara Initiative Consent Receipt Specification v1.1: a JSON
object, here signed as a compact JWS (``typ`` ``JWT``, Ed25519) with the ledger's key, so
that anyone holding the public key can check it offline (``flask consents
verify-receipt``). The signed receipt names the customer, so it is kept encrypted with
the customer's own data key: erasure makes it unreadable, like their other details.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from app import clock, mail
from app.consent import ledger, ledger_signing
from app.consent.account_links import manage_url
from app.consent.personal import KeyDestroyed, decrypt_text_for, encrypt_for
from app.dates import when
from app.engine.schema import ConsentItem, ConsentStep, Journey
from app.engine.versions import journey_for_run
from app.extensions import db
from app.models import ConsentReceipt, ConsentRecord, Customer, JourneyRun, new_public_id
from app.urls import public_url

VERSION = "KI-CR-v1.1.0"
TYPE = "JWT"
CONSENT_TYPE = "EXPLICIT"
# Kantara v1.1 purpose categories: what the service needs, and everything else.
CORE_FUNCTION = "Core Function"
OTHER_PURPOSE = "Other"
# The fields Kantara v1.1 requires of every receipt.
REQUIRED_FIELDS = (
    "version",
    "jurisdiction",
    "consentTimestamp",
    "collectionMethod",
    "consentReceiptID",
    "piiPrincipalId",
    "piiControllers",
    "policyUrl",
    "services",
    "sensitive",
    "spiCat",
)


class ReceiptInvalid(ledger_signing.SignatureInvalid):
    """A genuine signature over something that is not an Onramp consent receipt."""


@dataclass(frozen=True)
class Receipt:
    """A stored receipt opened: the signed token and what it says."""

    token: str
    claims: dict[str, Any]
    key_id: str


def issue_receipt(run: JourneyRun, records: Iterable[ConsentRecord]) -> ConsentReceipt | None:
    """Sign and keep the receipt for the grants among ``records`` (the caller commits).

    ``records`` are those ``ledger.record_decisions`` just wrote; None when none of
    them is a grant (the customer declined, or nothing changed).
    """
    granted = [record for record in records if record.decision == ledger.GRANTED]
    if not granted:
        return None
    receipt = ConsentReceipt(
        public_id=new_public_id(),
        customer_id=run.customer_id,
        run_id=run.id,
        record_ids=[record.public_id for record in granted],
        issued_at=clock.now(),
    )
    claims = build_claims(receipt, run, granted)
    receipt.jws_ciphertext = encrypt_for(run.customer, ledger_signing.sign(claims, typ=TYPE))
    db.session.add(receipt)
    db.session.flush()
    return receipt


def build_claims(
    receipt: ConsentReceipt, run: JourneyRun, granted: list[ConsentRecord]
) -> dict[str, Any]:
    """The Kantara v1.1 receipt for ``granted`` (records of one run, in the run's language)."""
    first = granted[0]
    journey = journey_for_run(run)
    with force_locale(run.locale):
        purposes = [
            _purpose(record, _item(journey, record.item_key), run.locale, journey)
            for record in granted
        ]
    consented_at = int(first.recorded_at.timestamp())
    return {
        "version": VERSION,
        "jurisdiction": first.jurisdiction,
        "consentTimestamp": consented_at,
        "collectionMethod": first.collection_method,
        "consentReceiptID": receipt.public_id,
        "publicKey": ledger_signing.public_key_pem(),
        "language": run.locale,
        "piiPrincipalId": run.customer.email,
        "piiControllers": [_controller(c, first.policy_url) for c in first.controllers],
        # Kantara requires a policy URL; a journey without a privacy notice has none to give.
        "policyUrl": first.policy_url or "",
        "services": [
            {"service": journey.name if journey else first.journey_id, "purposes": purposes}
        ],
        "sensitive": False,
        "spiCat": [],
        # JWT claims (RFC 7519): who issued the receipt, when, under which id.
        "iss": ledger_signing.issuer(),
        "iat": consented_at,
        "jti": receipt.public_id,
        # Not Kantara: what ties the receipt to the ledger, for anyone auditing both.
        "onramp": {
            "journeyId": first.journey_id,
            "journeyVersion": first.journey_version,
            "policyVersion": first.policy_version,
            "runId": run.public_id,
            "records": [
                {
                    "id": record.public_id,
                    "item": record.item_key,
                    "sequence": record.sequence,
                    "recordHash": record.record_hash,
                    "textSha256": record.text_sha256,
                }
                for record in granted
            ],
        },
    }


def _item(journey: Journey | None, key: str) -> ConsentItem | None:
    for step in journey.steps if journey else []:
        if isinstance(step, ConsentStep):
            for item in step.items:
                if item.key == key:
                    return item
    return None


def _controller(controller: dict[str, Any], policy_url: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "piiController": controller["name"],
        "contact": controller["name"],
        # Kantara wants an address object; journeys give none unless the record has one.
        "address": controller.get("address") or {},
        "email": controller.get("email") or "",
        "phone": controller.get("phone") or "",
    }
    url = controller.get("privacy_url") or policy_url
    if url:
        entry["piiControllerUrl"] = url
    return entry


def _purpose(
    record: ConsentRecord, item: ConsentItem | None, locale: str, journey: Journey | None
) -> dict[str, Any]:
    retention = journey.text(item.retention, locale) if journey and item else None
    recipients = journey.text(item.recipients, locale) if journey and item else None
    purpose: dict[str, Any] = {
        "purpose": record.purpose,
        "purposeCategory": [CORE_FUNCTION if record.required else OTHER_PURPOSE],
        "consentType": CONSENT_TYPE,
        "piiCategory": list(record.data_categories),
        "primaryPurpose": record.required,
        "termination": termination(record.expires_at, retention, once=ledger.is_one_off(record)),
        "thirdPartyDisclosure": False,
    }
    controller_names = {c["name"].casefold() for c in record.controllers}
    # Anyone named besides the controller is a disclosure: quote them exactly as told.
    if recipients and recipients.strip().rstrip(".").casefold() not in controller_names:
        purpose.update(thirdPartyDisclosure=True, thirdPartyName=recipients)
    return purpose


def termination(expires_at: datetime | None, retention: str | None, once: bool = False) -> str:
    """When the consent ends (``once``: shared just once, by the customer's choice), and
    how long the data is kept, in the current language."""
    if expires_at is None:
        ends = _("Consent lasts until you withdraw it.")
    elif once:
        ends = _(
            "Shared just once: consent ends on %(date)s, 24 hours after you gave it, or "
            "earlier if you withdraw it.",
            date=when(expires_at),
        )
    else:
        ends = _(
            "Consent ends on %(date)s unless you reconfirm it, or earlier if you withdraw it.",
            date=when(expires_at),
        )
    if not retention:
        return ends
    return ends + " " + _("Data is kept: %(retention)s", retention=retention)


def format_time(moment: datetime | int) -> str:
    """A time as the command line shows it: UTC, to the minute, the same in every language
    (customers' pages and emails use ``app.dates.when``, in their language)."""
    if isinstance(moment, int):
        moment = datetime.fromtimestamp(moment, tz=clock.now().tzinfo)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def verify_receipt(token: str, public_key: Ed25519PublicKey) -> dict[str, Any]:
    """The claims of a genuine receipt signed by ``public_key``.

    Raises ``ledger_signing.SignatureInvalid`` when the token is malformed or altered or was
    signed by another key, and ``ReceiptInvalid`` when it is genuine but not a receipt.
    """
    header, claims = ledger_signing.verify(token, public_key)
    if header.get("typ") != TYPE:
        raise ReceiptInvalid(f"this is not a consent receipt (typ {header.get('typ')!r})")
    missing = [name for name in REQUIRED_FIELDS if name not in claims]
    if missing:
        raise ReceiptInvalid("the receipt lacks " + ", ".join(missing))
    if claims["version"] != VERSION:
        raise ReceiptInvalid(f"unknown receipt version {claims['version']!r}")
    named = claims.get("publicKey")
    if named is not None and _same_key(named, public_key) is False:
        raise ReceiptInvalid("the receipt names another public key than the one it verifies with")
    return claims


def _same_key(pem: Any, key: Ed25519PublicKey) -> bool:
    try:
        return isinstance(pem, str) and ledger_signing.public_key_pem(
            ledger_signing.load_public_key(pem)
        ) == ledger_signing.public_key_pem(key)
    except ValueError:
        return False


def open_receipt(receipt: ConsentReceipt) -> Receipt:
    """The signed token and claims of a stored receipt.

    Checked with the current key, or with the key the receipt names when the signing
    key has been rotated since. ``KeyDestroyed`` once the customer has been erased.
    """
    customer = db.session.get(Customer, receipt.customer_id)
    if customer is None or receipt.jws_ciphertext is None or customer.erased_at is not None:
        raise KeyDestroyed(receipt.public_id)
    token = decrypt_text_for(customer, receipt.jws_ciphertext)
    keys = [ledger_signing.public_key()]
    named = _named_key(token)
    if named is not None:
        keys.append(named)
    for key in keys:
        try:
            claims = verify_receipt(token, key)
        except ledger_signing.SignatureInvalid:
            continue
        return Receipt(token, claims, ledger_signing.key_id(key))
    raise ledger_signing.SignatureInvalid("the stored receipt does not verify")


def _named_key(token: str) -> Ed25519PublicKey | None:
    """The public key a receipt says it was signed with (read before checking it)."""
    try:
        part = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
        return ledger_signing.load_public_key(claims["publicKey"])
    except (IndexError, KeyError, TypeError, ValueError):
        return None


def find_receipt(public_id: str) -> ConsentReceipt | None:
    return db.session.scalars(
        select(ConsentReceipt).where(ConsentReceipt.public_id == public_id)
    ).first()


def customer_receipts(customer: Customer) -> list[ConsentReceipt]:
    """Every receipt issued to ``customer``, newest first."""
    return list(
        db.session.scalars(
            select(ConsentReceipt)
            .where(ConsentReceipt.customer_id == customer.id)
            .order_by(ConsentReceipt.issued_at.desc(), ConsentReceipt.id.desc())
        )
    )


def latest_for_run(run: JourneyRun) -> ConsentReceipt | None:
    """The receipt for what the customer last agreed to on ``run``, if any."""
    return db.session.scalars(
        select(ConsentReceipt)
        .where(ConsentReceipt.run_id == run.id)
        .order_by(ConsentReceipt.issued_at.desc(), ConsentReceipt.id.desc())
        .limit(1)
    ).first()


def refusals(run: JourneyRun) -> list[ConsentRecord]:
    """What the customer declined on ``run``, as the ledger recorded it (no receipt is
    signed for a refusal: these records are its record)."""
    return [
        record
        for record in ledger.latest_decisions(run).values()
        if record.decision == ledger.DECLINED
    ]


def attachment_name(receipt: ConsentReceipt) -> str:
    return f"consent-receipt-{receipt.public_id}.jwt"


def email_receipt(receipt: ConsentReceipt) -> bool:
    """Queue the receipt's email to its customer when SMTP is configured, in the caller's
    transaction (the caller commits); True if queued.

    The worker sends it (``app.mail.send_due``) and sets ``emailed_at`` once the server
    took it: the consent it is about stands whatever the mail server does.
    """
    if not mail.enabled():
        return False
    run = db.session.get(JourneyRun, receipt.run_id)
    customer = db.session.get(Customer, receipt.customer_id)
    if run is None or customer is None or customer.erased_at is not None:
        return False
    try:
        opened = open_receipt(receipt)
    except (KeyDestroyed, ledger_signing.SignatureInvalid):
        return False
    journey = journey_for_run(run)
    with force_locale(run.locale):
        context = _email_context(receipt, opened, journey, customer)
        subject = _("Your consent receipt from %(business)s", business=context["controller"])
        text = render_template("email/receipt.txt", **context)
        html = render_template("email/receipt.html", **context)
    attachment = mail.Attachment(attachment_name(receipt), opened.token.encode(), "application/jwt")
    queued = mail.queue(
        "receipt",
        customer.email,
        subject,
        text,
        html=html,
        attachments=(attachment,),
        customer_id=customer.id,
        about=receipt.public_id,
    )
    return queued is not None


def _email_context(
    receipt: ConsentReceipt, opened: Receipt, journey: Journey | None, customer: Customer
) -> dict[str, Any]:
    claims = opened.claims
    return {
        "receipt": receipt,
        "claims": claims,
        "controller": ", ".join(c["piiController"] for c in claims["piiControllers"]),
        "consented_at": when(claims["consentTimestamp"], time=True),
        "purposes": [p for service in claims["services"] for p in service["purposes"]],
        "page_url": public_url("receipts.page", receipt_id=receipt.public_id),
        # The signed link opens the customer's page in any browser, not only the journey's.
        "manage_url": manage_url(customer),
        "filename": attachment_name(receipt),
        "journey": journey,
    }

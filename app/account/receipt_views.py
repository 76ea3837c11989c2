"""Consent receipts for the customer: a printable page and the signed JSON (``receipts``)."""

from __future__ import annotations

import json

from flask import Blueprint, Response, render_template
from flask_babel import force_locale
from flask_babel import gettext as _

from app.consent import ledger_signing, receipts
from app.consent.personal import KeyDestroyed
from app.dates import when
from app.errors import render_error
from app.journey.customer_access import held_customer

bp = Blueprint("receipts", __name__)

ReceiptResponse = Response | tuple[str, int]


def _opened(receipt_id: str) -> receipts.Receipt | tuple[str, int]:
    """The receipt, if this browser's customer holds it; else the page that says why not.

    What is not this browser's is answered alike whether it exists or not: no browser
    learns from the answer which receipts there are.
    """
    holder = held_customer()
    if holder is None:
        return render_error(
            403,
            _("Open your link to see this receipt"),
            _(
                "For your privacy, receipts open only in a browser that has opened your "
                "link. Open the link you were sent, then this page again."
            ),
        )
    receipt = receipts.find_receipt(receipt_id)
    if receipt is None or receipt.customer_id != holder.id:
        return _not_found()
    if holder.erased_at is not None or receipt.jws_ciphertext is None:
        return render_error(
            410,
            _("This receipt has been deleted"),
            _("Its details were erased at your request, or by the business that asked for them."),
        )
    try:
        return receipts.open_receipt(receipt)
    except (KeyDestroyed, ledger_signing.SignatureInvalid):
        return _not_found()


def _not_found() -> tuple[str, int]:
    return render_error(
        404,
        _("Receipt not found"),
        _("Check the address, or open the receipt from the email we sent you."),
    )


@bp.get("/my/receipts/<receipt_id>")
def page(receipt_id: str) -> ReceiptResponse:
    """The receipt to read, print or save as PDF."""
    opened = _opened(receipt_id)
    if not isinstance(opened, receipts.Receipt):
        return opened
    claims = opened.claims
    locale = str(claims.get("language") or "en")
    with force_locale(locale):
        html = render_template(
            "receipts/page.html",
            locale=locale,
            receipt_id=receipt_id,
            claims=claims,
            key_id=opened.key_id,
            consented_at=when(claims["consentTimestamp"], time=True),
            services=claims["services"],
            collection_methods=_collection_methods(),
        )
    return Response(html, mimetype="text/html")


@bp.get("/my/receipts/<receipt_id>.json", endpoint="json")
def json_receipt(receipt_id: str) -> ReceiptResponse:
    """What the signed receipt says, as readable JSON."""
    opened = _opened(receipt_id)
    if not isinstance(opened, receipts.Receipt):
        return opened
    body = json.dumps(opened.claims, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return Response(body, mimetype="application/json")


@bp.get("/my/receipts/<receipt_id>.jwt")
def download(receipt_id: str) -> ReceiptResponse:
    """The signed receipt itself, exactly as signed: the file to verify and keep."""
    opened = _opened(receipt_id)
    if not isinstance(opened, receipts.Receipt):
        return opened
    response = Response(opened.token, mimetype="application/jwt")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="consent-receipt-{receipt_id}.jwt"'
    )
    return response


def _collection_methods() -> dict[str, str]:
    """How consent was collected (the ledger's words), as the customer would say it."""
    return {
        "journey": _("Online, by ticking boxes on the page your link opened"),
        "embedded journey": _("Online, by ticking boxes on the business's own website"),
    }

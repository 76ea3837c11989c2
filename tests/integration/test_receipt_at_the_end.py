"""The receipt at the moment of consent: offered on the done page, a record of a refusal on
the declined page, in plain words and the customer's own date format; and a browser
without the customer's link is told honestly how to get in."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.models import Connection, ConsentReceipt
from tests.pages import text_of


def receipt_ids(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(ConsentReceipt.public_id)))


def done_page(client: FlaskClient) -> str:
    page = client.get("/journey", follow_redirects=True)
    if "/journey/connect" in page.request.path:
        page = client.post("/journey/connect", data={"finish": "Continue"}, follow_redirects=True)
    assert page.request.path == "/journey/done"
    return text_of(page)


def test_the_done_page_offers_the_receipt_of_what_was_agreed(
    app: Flask, client: FlaskClient, linked_sandbox: Connection
) -> None:
    page = done_page(client)

    [receipt_id] = receipt_ids(app)
    link = re.search(r'<a [^>]*href="(/my/receipts/[^"]+)"[^>]*>See your consent receipt</a>', page)
    assert link is not None
    assert link.group(1) == f"/my/receipts/{receipt_id}"
    receipt = client.get(link.group(1))
    assert receipt.status_code == 200
    assert receipt_id in text_of(receipt)
    assert "Print or save as PDF" in text_of(receipt)


def test_the_declined_page_keeps_a_record_of_the_refusal(
    app: Flask, customer_client: FlaskClient
) -> None:
    customer_client.post("/journey/welcome")
    declined = customer_client.post(
        "/journey/consent", data={"decline": "Decline and stop"}, follow_redirects=True
    )

    page = text_of(declined)
    assert declined.request.path == "/journey/declined"
    assert "Your record of this decision" in page
    assert re.search(r"On \w+ \d+, \d{4}, \d+:\d\d\s[AP]M UTC you declined to share with", page)
    assert "Profit and loss, balance sheet and cash flow" in page
    assert "Print or save as PDF" in page
    # No receipt is signed for a refusal: the page is the record.
    assert receipt_ids(app) == []

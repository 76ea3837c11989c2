"""The receipt at the moment of consent: offered on the done page, a record of a refusal on
the declined page, in plain words and the customer's own date format; and a browser
without the customer's link is told honestly how to get in."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from babel.dates import format_date
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.consent import ledger_signing
from app.customers.records import create_customer
from app.extensions import db
from app.links import journey_link
from app.models import Connection, ConsentReceipt, MailMessage
from tests.integration.conftest import REQUIRED_CONSENTS
from tests.mail_sink import smtp_sink
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


# A browser without the customer's link


SUPPORT = 'href="mailto:support@northwind-lending.example"'


def test_without_mail_the_page_says_how_to_get_in_and_offers_no_email(
    client: FlaskClient,
) -> None:
    response = client.get("/my")

    assert response.status_code == 403
    page = text_of(response)
    assert "Open your link to see this page" in page
    assert "Open the link Northwind Lending sent you" in page
    assert "Ask Northwind Lending to send you a new one:" in page
    assert SUPPORT in page
    assert "Email me a fresh link" not in page
    assert 'href="/my/link"' not in page
    assert "Error 403" not in page


def test_with_mail_the_page_also_offers_a_fresh_link(app: Flask, client: FlaskClient) -> None:
    with smtp_sink() as (_sink, settings):
        app.config.update(settings)
        response = client.get("/my")

    assert response.status_code == 403
    page = text_of(response)
    assert "Open the link Northwind Lending sent you" in page
    assert re.search(r'<a class="button" href="/my/link">Email me a fresh link</a>', page)
    assert "Or ask Northwind Lending to send you a new one:" in page
    assert SUPPORT in page


@pytest.mark.parametrize("method", ["get", "post"])
def test_without_mail_asking_for_a_fresh_link_claims_nothing_was_sent(
    app: Flask, client: FlaskClient, method: str
) -> None:
    with app.app_context():
        create_customer("Acme Ltd", "owner@acme.example")

    response = getattr(client, method)("/my/link", data={"email": "owner@acme.example"})

    assert response.status_code == 200
    page = text_of(response)
    assert "We can't email you a link" in page
    assert "nothing was sent" in page
    assert "we've sent" not in page
    assert "Check your email" not in page
    assert SUPPORT in page
    with app.app_context():
        assert db.session.scalars(select(MailMessage)).all() == []
    assert "we've sent" not in text_of(client.get("/my/link/sent"))


def test_without_mail_an_expired_link_points_to_the_business(
    client: FlaskClient, expired_manage_link: str
) -> None:
    response = client.get(expired_manage_link)

    assert response.status_code == 410
    page = text_of(response)
    assert "This link has expired" in page
    assert "email you" not in page
    assert '<label for="email"' not in page
    assert SUPPORT in page


# The receipt page, in plain words and the customer's own dates


def consent_in(app: Flask, locale: str) -> tuple[FlaskClient, str]:
    """A customer whose link opened in ``locale`` agreed to the required items."""
    with app.app_context():
        customer = create_customer("Acme Ltd", f"owner-{locale}@acme.example")
        link = journey_link(customer.public_id, "default", locale).removeprefix("http://localhost")
    browser = app.test_client()
    browser.get(link)
    browser.post("/journey/welcome")
    browser.post("/journey/consent", data=REQUIRED_CONSENTS)
    [receipt_id] = receipt_ids(app)
    return browser, receipt_id


def test_the_receipt_page_speaks_plainly_and_keeps_the_technical_details_folded(
    app: Flask,
) -> None:
    browser, receipt_id = consent_in(app, "en")
    with app.app_context():
        key_id = ledger_signing.key_id()

    page = text_of(browser.get(f"/my/receipts/{receipt_id}"))

    download = f'<a href="/my/receipts/{receipt_id}.jwt" download>'
    assert download + "Download a signed copy you can keep</a>" in page
    assert ".jwt file" not in page
    folded = re.search(
        r"<details[^>]*>\s*<summary>For checking the signature</summary>(.*?)</details>",
        page,
        re.S,
    )
    assert folded is not None
    assert key_id in folded.group(1)
    assert f'href="/my/receipts/{receipt_id}.json"' in folded.group(1)
    outside = page.replace(folded.group(0), "")
    assert key_id not in outside
    assert "Signed with key" not in outside


@pytest.mark.parametrize("locale", ["en", "fr", "de"])
def test_dates_are_in_the_customers_language_and_one_format(app: Flask, locale: str) -> None:
    browser, receipt_id = consent_in(app, locale)
    with app.app_context():
        receipt = db.session.scalars(select(ConsentReceipt)).one()
        issued_at = receipt.issued_at
    day = format_date(issued_at, "long", locale=locale)

    receipt_page = text_of(browser.get(f"/my/receipts/{receipt_id}"))
    overview = text_of(browser.get(f"/my?lang={locale}"))

    # When consent was given, as the receipt and the link to it on /my both say it.
    given = re.search(r"<dd>(" + re.escape(day) + r",? [^<]*\d\d[^<]*)</dd>", receipt_page)
    assert given is not None, day
    assert given.group(1) in overview
    link = re.search(rf'<a href="/my/receipts/{receipt_id}">([^<]*)</a>', overview)
    assert link is not None
    assert given.group(1) in link.group(1)
    # Dates alone (a consent's end, when the journey started) are the same long date.
    expires = format_date(issued_at + timedelta(days=90), "long", locale=locale)
    assert expires in overview
    assert expires in receipt_page
    assert re.search(r"\d{4}-\d\d-\d\d", receipt_page + overview) is None

"""The consent receipt: given at the consent step, readable, printable, and accessible."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import BrowserContext, Locator, Page, expect
from sqlalchemy import select

from app.extensions import db
from app.models import ConsentReceipt, Customer
from e2e.accessibility import assert_accessible
from e2e.live import JourneyLink, LiveServer
from e2e.pages import FINANCIAL_STATEMENTS, ONGOING_MONITORING, ConsentPage, Screen


class ReceiptPage(Screen):
    title = "Your consent receipt"

    @classmethod
    def open(cls, page: Page, receipt_id: str) -> ReceiptPage:
        page.goto(f"/my/receipts/{receipt_id}")
        return cls(page)

    def purpose(self, category: str) -> Locator:
        return self.main.get_by_role("listitem").filter(
            has=self.page.get_by_role("heading", name=category)
        )

    @property
    def download_link(self) -> Locator:
        return self.main.get_by_role("link", name="Download a signed copy you can keep")


def receipt_ids(live_server: LiveServer, customer_public_id: str) -> list[str]:
    with live_server.app.app_context():
        return list(
            db.session.scalars(
                select(ConsentReceipt.public_id)
                .join(Customer, ConsentReceipt.customer_id == Customer.id)
                .where(Customer.public_id == customer_public_id)
            )
        )


def test_receipt_after_consenting(
    at_consent: ConsentPage, page: Page, journey_link: JourneyLink, live_server: LiveServer
) -> None:
    at_consent.tick(ONGOING_MONITORING).agree()
    [receipt_id] = receipt_ids(live_server, journey_link.customer_public_id)

    receipt = ReceiptPage.open(page, receipt_id)

    expect(page).to_have_title("Your consent receipt · Northwind Lending")
    expect(receipt.purpose(FINANCIAL_STATEMENTS)).to_contain_text("Required")
    expect(receipt.purpose(ONGOING_MONITORING)).to_contain_text("Optional")
    expect(receipt.main).to_contain_text(receipt_id)
    expect(receipt.main).to_contain_text("Print or save as PDF")
    assert_accessible(page)

    with page.expect_download() as download:
        receipt.download_link.click()
    assert download.value.suggested_filename == f"consent-receipt-{receipt_id}.jwt"

    expect(page.get_by_role("contentinfo")).to_be_visible()
    # On paper: the receipt, without the page's footer, print hint and download links.
    page.emulate_media(media="print")
    expect(receipt.heading).to_be_visible()
    expect(receipt.purpose(FINANCIAL_STATEMENTS)).to_be_visible()
    expect(page.get_by_role("contentinfo")).to_be_hidden()
    expect(receipt.download_link).to_be_hidden()
    expect(receipt.main.get_by_text("Print or save as PDF")).to_be_hidden()


def test_receipt_not_shown_in_another_browser(
    at_consent: ConsentPage,
    new_context: Callable[..., BrowserContext],
    journey_link: JourneyLink,
    live_server: LiveServer,
) -> None:
    at_consent.tick(ONGOING_MONITORING).agree()
    [receipt_id] = receipt_ids(live_server, journey_link.customer_public_id)

    context = new_context()
    try:
        other = context.new_page()
        response = other.goto(f"/my/receipts/{receipt_id}")
        assert response is not None and response.status == 403
        expect(other.get_by_role("heading", level=1)).to_have_text(
            "Open your link to see this receipt"
        )
        expect(other.get_by_role("main")).not_to_contain_text("owner@acme.example")
        assert_accessible(other)
    finally:
        context.close()

"""The receipt at the moment of consent: the done page offers it, it reads plainly and
prints; a refusal leaves a record on the declined page. Driven with plain locators by role
and name (the journey's page objects are being rewritten for the one-press flow)."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from app.sandbox.data import SANDBOX_LOGIN_EMAIL, SANDBOX_LOGIN_PASSWORD
from e2e.accessibility import assert_accessible
from e2e.live import JourneyLink


def press(page: Page, name: str) -> None:
    page.get_by_role("main").get_by_role("button", name=name, exact=True).click()


def test_the_done_page_offers_the_receipt_and_it_prints(
    page: Page, journey_link: JourneyLink
) -> None:
    page.goto(journey_link.url)
    press(page, "Get started")
    press(page, "Agree and continue")
    press(page, "Sandbox Accounting")
    press(page, "Continue to Sandbox Accounting")
    page.get_by_label("Email address").fill(SANDBOX_LOGIN_EMAIL)
    page.get_by_label("Password").fill(SANDBOX_LOGIN_PASSWORD)
    press(page, "Sign in")
    page.get_by_role("radio", name="Acme Trading Ltd", exact=True).check()
    press(page, "Approve")

    main = page.get_by_role("main")
    expect(main.get_by_role("heading", name="Connected to Acme Trading Ltd")).to_be_visible()
    receipt_link = main.get_by_role("link", name="See your consent receipt")
    expect(receipt_link).to_be_visible()
    assert_accessible(page)

    receipt_link.click()

    expect(page).to_have_title("Your consent receipt · Northwind Lending")
    expect(main.get_by_role("heading", level=1)).to_have_text("Your consent receipt")
    download = main.get_by_role("link", name="Download a signed copy you can keep")
    expect(download).to_be_visible()
    # The technical details are there for whoever checks the signature, folded away.
    checking = main.get_by_text("For checking the signature")
    json_link = main.get_by_role("link", name="See the receipt's data (JSON)")
    expect(json_link).to_be_hidden()
    checking.click()
    expect(json_link).to_be_visible()
    assert_accessible(page)

    with page.expect_download() as downloaded:
        download.click()
    assert downloaded.value.suggested_filename.startswith("consent-receipt-")

    page.emulate_media(media="print")
    expect(main.get_by_role("heading", name="What you agreed to")).to_be_visible()
    expect(download).to_be_hidden()


def test_the_declined_page_keeps_a_record_of_the_refusal(
    page: Page, journey_link: JourneyLink
) -> None:
    page.goto(journey_link.url)
    press(page, "Get started")
    press(page, "Decline and stop")

    main = page.get_by_role("main")
    expect(main.get_by_role("heading", level=1)).to_have_text(
        "You declined to share your accounting data"
    )
    record = main.get_by_role("region", name="Your record of this decision")
    expect(record).to_contain_text("you declined to share with Northwind Lending")
    expect(record.get_by_role("listitem")).to_have_count(3)
    expect(record).to_contain_text("Print or save as PDF")
    assert_accessible(page)

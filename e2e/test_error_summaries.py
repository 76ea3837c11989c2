"""Every error summary's link takes the customer to the field to correct.

The consent step's summary is covered in test_consent.py; these are the choices,
where the link must land on the first platform or organisation.
"""

from __future__ import annotations

from playwright.sync_api import Page, expect

from app.sandbox.data import ORGANISATIONS
from e2e.accessibility import assert_accessible
from e2e.pages import SANDBOX, ConnectPage, ConsentPage, SoftwarePage


def test_software_that_cant_be_connected(at_consent: ConsentPage, page: Page) -> None:
    software = at_consent.agree()
    # Only a tampered page can send a platform that isn't offered: the server refuses it.
    software.platform(SANDBOX).evaluate("button => { button.value = 'xero' }")
    software.platform(SANDBOX).click()
    software = SoftwarePage(page)
    expect(software.error_summary).to_be_visible()
    assert_accessible(page)

    software.error_summary.get_by_role(
        "link", name="That software can't be connected yet: choose one from the list"
    ).click()

    expect(software.platform(SANDBOX)).to_be_focused()


def test_sandbox_organisation_not_chosen(at_connect: ConnectPage, page: Page) -> None:
    consent = at_connect.continue_to_sandbox().sign_in().approve_expecting_problem()
    assert_accessible(page)

    consent.error_summary.get_by_role("link", name="Choose the organisation to connect").click()

    expect(consent.organisation(ORGANISATIONS[0].name)).to_be_focused()


def test_software_not_listed_left_empty_then_named(at_consent: ConsentPage, page: Page) -> None:
    software = at_consent.agree()
    page.get_by_text("My software isn't listed", exact=True).click()
    page.get_by_role("button", name="Tell Northwind Lending").click()
    software = SoftwarePage(page)
    expect(software.error_summary).to_be_visible()
    assert_accessible(page)

    software.error_summary.get_by_role(
        "link", name="Write the name of the software you use"
    ).click()
    field = page.get_by_label("What software do you use?")
    expect(field).to_be_focused()

    field.fill("Ledgerly")
    page.get_by_role("button", name="Tell Northwind Lending").click()
    expect(
        page.get_by_role("status").filter(
            has_text="Thank you — Northwind Lending now knows you use Ledgerly."
        )
    ).to_be_visible()
    assert_accessible(page)

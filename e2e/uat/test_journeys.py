"""Happy paths: each shipped journey (journeys/*.yaml), link to its last page.

Every scenario sets up its customer and link through the API, walks the journey in the
browser, and reads the outcome back through the API.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from e2e.pages.journey import (
    DEFAULT_ITEMS,
    HARBOUR_ACCOUNTS,
    REQUIRED_KEYS,
    SANDBOX,
    ApplicationReceived,
    ApplyConsent,
    ApplyInstructions,
    ApplySoftware,
    ApplyWelcome,
    BusinessDetails,
    CheckAnswers,
    ConnectAccounts,
    DefaultDone,
    DefaultWelcome,
    Reconnected,
    ReconnectSoftware,
    ReconnectWelcome,
    SignInAgain,
)
from e2e.uat.api import UatCustomer

ACME, BLUEBELL, NORTHWIND_CONSULTING = (
    "Acme Trading Ltd",
    "Bluebell Bakery Ltd",
    "Northwind Consulting LLP",
)


def connect_default(page: Page, customer: UatCustomer, organisation: str = ACME) -> DefaultDone:
    """The default journey with every item agreed, the Sandbox, and one organisation."""
    return (
        DefaultWelcome.open(page, customer.url("default"))
        .get_started()
        .tick_keys("ongoing_monitoring")
        .agree_and_connect(organisation)
    )


def test_the_receipt_at_the_end(page: Page, customer: UatCustomer) -> None:
    """The done page offers the receipt of what was just agreed, in plain words, with a
    signed copy to keep; in French for a French customer."""
    done = (
        DefaultWelcome.open(page, customer.url("default", locale="fr"), "fr")
        .get_started()
        .agree_and_connect(ACME)
    )

    receipt = done.see_receipt()

    expect(receipt.agreed(DEFAULT_ITEMS["financial_statements"]["fr"])).to_be_visible()
    expect(receipt.agreed(DEFAULT_ITEMS["ongoing_monitoring"]["fr"])).to_have_count(0)
    expect(receipt.download).to_be_visible()
    expect(receipt.main).not_to_contain_text(".jwt")


def test_default_journey_happy_path(page: Page, customer: UatCustomer) -> None:
    done = connect_default(page, customer, BLUEBELL)

    expect(done.connected(BLUEBELL)).to_be_visible()
    expect(done.progress).to_have_text("Step 5 of 5")
    assert customer.decisions() == dict.fromkeys(DEFAULT_ITEMS, "granted")
    assert customer.statuses() == [("linked", BLUEBELL)]
    assert [run["status"] for run in customer.runs()] == ["completed"]


def test_business_journey_happy_path(page: Page, customer: UatCustomer) -> None:
    """Harbour Capital's application, as a sole trader (no company step)."""
    details = (
        ApplyWelcome.open(page, customer.url("business"))
        .get_started_to(ApplyConsent)
        .tick(HARBOUR_ACCOUNTS)
        .agree_to(BusinessDetails)
    )
    details.field("Registered business name").fill(customer.name)
    details.option("Sole trader").check()
    details.field("Contact email address").fill("owner@uat.onramp.example")
    details.field("Number of employees").fill("3")
    details.field("Annual turnover").select_option(label="Under £100,000")
    connect = (
        details.continue_to(ApplySoftware)
        .choose_to(CheckAnswers)
        .confirm_to(ApplyInstructions)
        .ready_to(ConnectAccounts)
        .continue_to_sandbox()
        .sign_in()
        .choose(NORTHWIND_CONSULTING)
        .approve_to(ConnectAccounts)
    )
    expect(connect.connected_so_far).to_have_text([f"{NORTHWIND_CONSULTING} ({SANDBOX})"])

    done = connect.continue_to(ApplicationReceived)

    expect(done.connected(NORTHWIND_CONSULTING)).to_be_visible()
    expect(done.return_link("Back to Harbour Capital")).to_have_attribute(
        "href", re.compile(r"^https://harbour-capital\.example/applications\?outcome=linked&")
    )
    assert customer.statuses() == [("linked", NORTHWIND_CONSULTING)]
    assert [run["status"] for run in customer.runs()] == ["completed"]


def test_reconnect_journey_happy_path(page: Page, customer: UatCustomer) -> None:
    """A customer already connected signs in again through the reconnect journey."""
    connect_default(page, customer, ACME)

    done = (
        ReconnectWelcome.open(page, customer.url("reconnect"))
        .get_started_to(ReconnectSoftware)
        .choose_to(SignInAgain)
        # Still signed in at the Sandbox: straight to its consent page.
        .continue_to_sandbox_signed_in()
        .choose(ACME)
        .approve_to(Reconnected)
    )

    expect(done.connected(ACME)).to_be_visible()
    expect(done.return_link("Back to your Northwind account")).to_be_visible()
    # The organisation was connected already: that connection is re-authorized, not doubled.
    assert customer.statuses() == [("linked", ACME)]
    # Consent is already on record: the reconnect journey asks for none.
    assert customer.decisions() == dict.fromkeys(DEFAULT_ITEMS, "granted")
    assert [run["journey_id"] for run in customer.runs()] == ["default", "reconnect"]
    assert set(REQUIRED_KEYS) <= set(customer.decisions())

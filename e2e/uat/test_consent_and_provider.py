"""What can go wrong on the way: a consent declined, the provider refusing or failing,
and a login with several organisations to choose from."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from e2e.pages.journey import (
    DEFAULT_ITEMS,
    REQUIRED_KEYS,
    DefaultConnect,
    DefaultDone,
    DefaultWelcome,
)
from e2e.pages.sandbox import SandboxConsent
from e2e.uat.api import UatCustomer
from e2e.uat.test_journeys import ACME, BLUEBELL, NORTHWIND_CONSULTING


@pytest.mark.parametrize("declined", list(DEFAULT_ITEMS))
def test_each_consent_declined(page: Page, customer: UatCustomer, declined: str) -> None:
    consent = DefaultWelcome.open(page, customer.url("default")).get_started()
    consent.tick_keys(*(key for key in DEFAULT_ITEMS if key != declined))

    if declined not in REQUIRED_KEYS:
        # An optional item left unticked: the journey goes on, the decision is kept.
        done = consent.agree_and_connect(ACME)
        expect(done.connected(ACME)).to_be_visible()
        assert customer.decisions()[declined] == "declined"
        assert customer.statuses() == [("linked", ACME)]
        return

    # A required item left unticked: the customer is told, and nothing is recorded.
    consent = consent.agree_expecting_problem()
    expect(consent.error_summary.get_by_role("link")).to_contain_text(DEFAULT_ITEMS[declined]["en"])
    expect(consent.item(declined)).to_have_attribute("aria-invalid", "true")
    assert customer.consents() == []

    declined_page = consent.decline()
    expect(declined_page.heading).to_be_visible()
    assert set(customer.decisions().values()) == {"declined"}
    assert [run["status"] for run in customer.runs()] == ["declined"]
    assert customer.connections() == []


def _at_sandbox(page: Page, customer: UatCustomer) -> SandboxConsent:
    return (
        DefaultWelcome.open(page, customer.url("default"))
        .get_started()
        .tick_keys(*REQUIRED_KEYS)
        .agree()
        .choose_sandbox()
        .ready()
        .continue_to_sandbox()
        .sign_in()
    )


def test_cancel_at_the_provider(page: Page, customer: UatCustomer) -> None:
    connect = _at_sandbox(page, customer).deny()

    assert isinstance(connect, DefaultConnect)
    expect(connect.alert).to_contain_text("You chose not to allow access")
    expect(connect.continue_button).to_be_hidden()
    expect(connect.try_again_button).to_be_visible()
    assert customer.statuses() == [("failed", None)]
    assert customer.connections()[0]["last_error"] == "access_denied"


def test_provider_error_then_retry(page: Page, customer: UatCustomer) -> None:
    connect = _at_sandbox(page, customer).simulate_error()
    expect(connect.alert).to_contain_text("Your accounting software reported a problem")

    done = connect.try_again().choose(BLUEBELL).approve_to(DefaultDone)

    expect(done.connected(BLUEBELL)).to_be_visible()
    assert customer.statuses() == [("failed", None), ("linked", BLUEBELL)]
    assert customer.connections()[0]["last_error"] == "provider_error"


def test_choose_among_several_organisations(page: Page, customer: UatCustomer) -> None:
    sandbox = _at_sandbox(page, customer)
    expect(sandbox.organisations).to_have_count(3)

    # Approving without choosing is refused by the provider, then the third is chosen.
    sandbox = sandbox.approve_expecting_problem()
    expect(sandbox.error_summary).to_contain_text("Choose the organisation to connect")
    done = sandbox.choose(NORTHWIND_CONSULTING).approve_to(DefaultDone)

    expect(done.connected(NORTHWIND_CONSULTING)).to_be_visible()
    [connection] = customer.connections()
    assert (connection["status"], connection["organisation_name"]) == (
        "linked",
        NORTHWIND_CONSULTING,
    )

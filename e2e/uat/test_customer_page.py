"""The customer's own page (/my): withdraw a consent, disconnect a platform."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from e2e.pages.journey import DEFAULT_ITEMS, SANDBOX
from e2e.uat.api import UatCustomer
from e2e.uat.test_journeys import ACME, connect_default

MONITORING = DEFAULT_ITEMS["ongoing_monitoring"]["en"]
FINANCIAL = DEFAULT_ITEMS["financial_statements"]["en"]


def test_withdraw_a_consent_from_the_customer_page(page: Page, customer: UatCustomer) -> None:
    account = connect_default(page, customer, ACME).your_connections()
    expect(account.consent(MONITORING)).to_contain_text("Granted")

    account = account.withdraw(MONITORING).confirm()

    expect(account.status).to_contain_text(f"You withdrew your consent: {MONITORING}.")
    expect(account.consent(MONITORING)).to_contain_text("Withdrawn")
    # An optional consent: the connection stays.
    expect(account.connection(SANDBOX)).to_contain_text("Connected")
    assert customer.decisions()["ongoing_monitoring"] == "withdrawn"
    assert customer.statuses() == [("linked", ACME)]


def test_withdraw_a_required_consent_disconnects(page: Page, customer: UatCustomer) -> None:
    account = connect_default(page, customer, ACME).your_connections()

    confirming = account.withdraw(FINANCIAL)
    expect(confirming.main).to_contain_text(f"Your connection to {SANDBOX} will be disconnected")
    account = confirming.confirm()

    expect(account.status).to_contain_text(f"Your {SANDBOX} connection was disconnected.")
    assert customer.decisions()["financial_statements"] == "withdrawn"
    assert customer.statuses() == [("disconnected", ACME)]


def test_disconnect_from_the_customer_page(page: Page, customer: UatCustomer) -> None:
    account = connect_default(page, customer, ACME).your_connections()

    account = account.disconnect(SANDBOX, ACME).confirm()

    expect(account.status).to_contain_text(f"{SANDBOX} is disconnected.")
    expect(account.connection(SANDBOX)).to_contain_text("Disconnected")
    assert customer.statuses() == [("disconnected", ACME)]
    # Disconnecting leaves the consents as they were.
    assert customer.decisions() == dict.fromkeys(DEFAULT_ITEMS, "granted")

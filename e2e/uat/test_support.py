"""What a support colleague does for a customer in the admin console."""

from __future__ import annotations

import re
from collections.abc import Callable

from playwright.sync_api import BrowserContext, Locator, Page, expect

from e2e.pages.console import ConsoleCustomer, ConsoleCustomers, ConsoleSignIn
from e2e.pages.journey import DefaultWelcome
from e2e.uat.api import UatCustomer

CONSENT_TITLE = "What you agree to share"


def test_a_support_agent_finds_a_stuck_customer_and_sends_a_fresh_link(
    page: Page,
    new_context: Callable[..., BrowserContext],
    customer: UatCustomer,
    support_login: tuple[str, str],
    stuck_at_once: None,
) -> None:
    """From the overview in at most three clicks: the stuck figure, the customer, "Send a
    new link"; on the way the summary says where they stopped and what to do."""
    # The customer opens their link, reads what is asked of them, and stops there.
    DefaultWelcome.open(new_context().new_page(), customer.url("default")).get_started()

    overview = ConsoleSignIn.open(page).sign_in(*support_login)
    clicks: list[str] = []

    def click(target: Locator, what: str) -> None:
        clicks.append(what)
        target.click()

    expect(overview.stuck_figure).not_to_have_text("0")
    click(overview.stuck_figure, "the stuck figure")
    stuck = ConsoleCustomers(page)
    expect(stuck.state_heading).to_contain_text("Customers stuck for more than")

    click(stuck.customer_link(customer.name), "the customer")
    found = ConsoleCustomer(page, customer.name)
    expect(found.summary).to_contain_text(f"stopped at “{CONSENT_TITLE}”")
    expect(found.summary).to_contain_text("Send a fresh link")

    click(found.send_new_link_button, "Send a new link")
    sent = ConsoleCustomer(page, customer.name)
    expect(sent.new_link).to_have_value(re.compile(r"^https?://"))
    assert clicks == ["the stuck figure", "the customer", "Send a new link"]

"""A customer whose software isn't listed names it: the business hears of it, and
counts it in the console's funnel."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from e2e.pages.base import without_javascript
from e2e.pages.console import ConsoleSignIn
from e2e.pages.journey import DefaultWelcome
from e2e.uat.api import UatCustomer


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_my_software_isnt_listed(
    new_context: Callable[..., BrowserContext],
    page: Page,
    customer: UatCustomer,
    admin_login: tuple[str, str],
    javascript: bool,
) -> None:
    context = new_context(java_script_enabled=javascript)
    browser = (context if javascript else without_javascript(context)).new_page()
    software = DefaultWelcome.open(browser, customer.url("default")).get_started().agree()

    software = software.tell_not_listed("Ledgerly")

    thanks = "Thank you — Northwind Lending now knows you use Ledgerly."
    expect(software.main.get_by_role("status").filter(has_text=thanks)).to_be_visible()
    # The step is not finished: the customer can still choose, or contact the business.
    expect(software.platform("Sandbox Accounting")).to_be_visible()
    [run] = customer.runs()
    assert (run["status"], run["current_step"]) == ("active", "software")

    email, password = admin_login
    ConsoleSignIn.open(page).sign_in(email, password)
    page.goto("/admin/funnel?journey=default")
    table = page.get_by_role("table", name="Software customers said isn't listed")
    expect(table.get_by_role("row", name="Ledgerly")).to_be_visible()

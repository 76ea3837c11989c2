"""How many times the customer acts on the business's pages, from opening the link to
arriving at their accounting platform: at most five (issue 18; Codat advertises linking
"in 6 clicks" in all), with JavaScript on and off.

Each press the customer makes goes through ``press``, which counts it; the page objects
check after each press that the page the customer should see is the one shown, so an
extra page or a missing shortcut fails here as well as a longer count.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Locator

from e2e.live import JourneyLink
from e2e.pages import (
    SANDBOX,
    ConnectPage,
    ConsentPage,
    SandboxSignInPage,
    SoftwarePage,
    WelcomePage,
)

MOST_ACTIONS = 5


class Customer:
    def __init__(self) -> None:
        self.actions: list[str] = []

    def press(self, control: Locator, what: str) -> None:
        self.actions.append(what)
        control.click()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_link_to_platform_in_at_most_five_actions(
    new_context: Callable[..., BrowserContext], journey_link: JourneyLink, javascript: bool
) -> None:
    page = new_context(java_script_enabled=javascript).new_page()
    customer = Customer()

    welcome = WelcomePage.open(page, journey_link.url)
    customer.press(welcome.get_started_button, "Get started")
    consent = ConsentPage(page)
    customer.press(consent.agree_button, "Agree and continue")
    software = SoftwarePage(page)
    customer.press(software.platform(SANDBOX), SANDBOX)
    connect = ConnectPage(page)
    customer.press(connect.continue_button, f"Continue to {SANDBOX}")
    SandboxSignInPage(page)

    assert len(customer.actions) <= MOST_ACTIONS, customer.actions

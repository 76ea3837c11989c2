"""A customer who uses only the keyboard gets through the first steps and can see focus."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect

from e2e.live import JourneyLink
from e2e.pages import ONGOING_MONITORING, REQUIRED_ITEMS, ConsentPage, SoftwarePage, WelcomePage

MAX_TABS = 30


def tab_to(page: Page, target: Locator) -> None:
    """Press Tab until ``target`` has focus, then check that the focus can be seen."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            break
    expect(target).to_be_focused()
    expect(target).to_be_in_viewport()
    # WCAG 2.4.7: the stylesheet's :focus-visible ring is drawn.
    expect(target).to_have_css("outline-style", "solid")


def test_welcome_and_consent_by_keyboard(page: Page, journey_link: JourneyLink) -> None:
    welcome = WelcomePage.open(page, journey_link.url)

    # The first Tab reveals the skip link.
    tab_to(page, page.get_by_role("link", name="Skip to main content"))

    tab_to(page, welcome.get_started_button)
    page.keyboard.press("Enter")
    consent = ConsentPage(page)

    for item in REQUIRED_ITEMS:
        tab_to(page, consent.checkbox(item))
        page.keyboard.press("Space")
        expect(consent.checkbox(item)).to_be_checked()
    expect(consent.checkbox(ONGOING_MONITORING)).not_to_be_checked()

    tab_to(page, consent.agree_button)
    page.keyboard.press("Enter")
    SoftwarePage(page)

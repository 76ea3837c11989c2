"""A customer who uses only the keyboard gets through the first steps and can see focus."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from e2e.accessibility import tab_to
from e2e.live import JourneyLink
from e2e.pages import ONGOING_MONITORING, ConsentPage, SoftwarePage, WelcomePage


def test_welcome_and_consent_by_keyboard(page: Page, journey_link: JourneyLink) -> None:
    welcome = WelcomePage.open(page, journey_link.url)

    # The first Tab reveals the skip link.
    tab_to(page, page.get_by_role("link", name="Skip to main content"))

    tab_to(page, welcome.get_started_button)
    page.keyboard.press("Enter")
    consent = ConsentPage(page)

    # The required items are agreed by the button; the optional one is a tick away.
    tab_to(page, consent.checkbox(ONGOING_MONITORING))
    page.keyboard.press("Space")
    expect(consent.checkbox(ONGOING_MONITORING)).to_be_checked()

    tab_to(page, consent.agree_button)
    page.keyboard.press("Enter")
    SoftwarePage(page)

"""Every customer page on 390 and 320 px phones, in every language the default journey
speaks: nothing scrolls sideways (WCAG 1.4.10 Reflow) and axe-core finds nothing, at both
widths, the Sandbox's pages and the customer's own page included; and none says "Onramp"."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Browser, Frame, Page

from e2e.accessibility import assert_accessible, assert_no_horizontal_scroll
from e2e.live import JourneyLink
from e2e.pages.base import PageT, UatPage, titled
from e2e.pages.journey import (
    DEFAULT_ITEMS,
    DefaultDone,
    DefaultUpload,
    DefaultWelcome,
    InvalidLink,
)

WIDTHS = (390, 320)
HEIGHT = 780


def fits(screen: PageT) -> PageT:
    """The page as it is, at each phone width in turn."""
    page = screen.page
    assert isinstance(page, Page) and not isinstance(page, Frame)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": HEIGHT})
        assert_no_horizontal_scroll(page)
        assert_accessible(page)
    # The business speaks, not Onramp: not in the words, the title or an image's name.
    words = page.title() + page.locator("body").inner_text()
    words += " ".join(page.locator("img[alt]").evaluate_all("els => els.map(e => e.alt)"))
    assert "Onramp" not in words, f"{page.url} names Onramp"
    return screen


@pytest.mark.parametrize("lang", ["en", "fr", "de"])
def test_every_customer_page_fits_a_phone(
    browser: Browser, link_in: Callable[[str], JourneyLink], lang: str
) -> None:
    # A customer's phone that speaks their language (pages with no journey go by it).
    context = browser.new_context(
        viewport={"width": WIDTHS[0], "height": HEIGHT},
        is_mobile=True,
        has_touch=True,
        locale=lang,
    )
    page = context.new_page()
    link = link_in(lang)

    welcome = fits(DefaultWelcome.open(page, link.url, lang))
    consent = fits(welcome.get_started())
    software = fits(consent.agree())
    connect = fits(software.choose_sandbox())
    sign_in = fits(connect.continue_to_sandbox())
    approval = fits(sign_in.sign_in())
    done = fits(approval.choose("Acme Trading Ltd").approve_to(DefaultDone))
    fits(done.see_receipt())
    page.go_back()
    account = fits(DefaultDone(page, lang).your_connections())
    fits(account.withdraw(DEFAULT_ITEMS["financial_statements"][lang]))

    page.goto(link.url + "tampered")
    fits(InvalidLink(page, lang))

    # Another's software isn't listed: they upload their accounts instead.
    told = fits(DefaultWelcome.open(page, link_in(lang).url, lang).get_started().agree())
    told = fits(told.tell_not_listed("Ledgerly"))
    fits(told.upload_instead_to(DefaultUpload))

    # Another customer declines.
    fits(DefaultWelcome.open(page, link_in(lang).url, lang).get_started().decline())
    context.close()

    # A browser that never opened a link, on the customer's page.
    stranger = browser.new_context(
        viewport={"width": WIDTHS[0], "height": HEIGHT}, is_mobile=True, locale=lang
    )
    elsewhere = stranger.new_page()
    elsewhere.goto(link.url.split("/j/")[0] + "/my")
    fits(OpenYourLink(elsewhere, lang))
    stranger.close()


class OpenYourLink(UatPage):
    titles = titled("Open your link to see this page")

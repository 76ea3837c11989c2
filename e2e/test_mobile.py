"""On a 320 px wide phone nothing scrolls sideways and the pages stay accessible."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import BrowserContext

from e2e.accessibility import assert_accessible, assert_no_horizontal_scroll
from e2e.live import JourneyLink
from e2e.pages import REQUIRED_ITEMS, SANDBOX, WelcomePage

PHONE = {"width": 320, "height": 640}


def test_narrow_phone(
    new_context: Callable[..., BrowserContext], journey_link: JourneyLink
) -> None:
    page = new_context(viewport=PHONE, is_mobile=True, has_touch=True).new_page()

    welcome = WelcomePage.open(page, journey_link.url)
    assert_no_horizontal_scroll(page)

    consent = welcome.get_started()
    assert_no_horizontal_scroll(page)
    assert_accessible(page)

    problem = consent.agree_expecting_problem()
    assert_no_horizontal_scroll(page)
    assert_accessible(page)

    software = problem.tick(*REQUIRED_ITEMS).agree()
    assert_no_horizontal_scroll(page)
    assert_accessible(page)

    connect = software.choose(SANDBOX).ready()
    assert_no_horizontal_scroll(page)

    connect.continue_to_sandbox()
    assert_no_horizontal_scroll(page)
    assert_accessible(page)

"""Refresh, back and forward, coming back later, and links that cannot be used."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from e2e.accessibility import assert_accessible
from e2e.live import JourneyLink
from e2e.pages import (
    ONGOING_MONITORING,
    ConsentPage,
    InvalidLinkPage,
    SoftwarePage,
    WelcomePage,
)


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_refresh_back_forward_and_resume(
    new_context: Callable[..., BrowserContext], journey_link: JourneyLink, javascript: bool
) -> None:
    page = new_context(java_script_enabled=javascript).new_page()
    WelcomePage.open(page, journey_link.url).get_started().tick(ONGOING_MONITORING).agree()

    page.reload()
    SoftwarePage(page)

    page.go_back()
    consent = ConsentPage(page)
    # The answers already given are shown again, not lost.
    expect(consent.checkbox(ONGOING_MONITORING)).to_be_checked()

    page.go_forward()
    SoftwarePage(page)

    # Later, on another device: the same link resumes at the step reached.
    elsewhere = new_context(java_script_enabled=javascript).new_page()
    elsewhere.goto(journey_link.url)
    SoftwarePage(elsewhere)


def test_tampered_link(page: Page, journey_link: JourneyLink) -> None:
    token = journey_link.url.rsplit("/", 1)[1]
    altered = token[:5] + ("A" if token[5] != "A" else "B") + token[6:]

    response = page.goto(journey_link.url.replace(token, altered))

    assert response is not None and response.status == 400
    InvalidLinkPage(page)
    assert_accessible(page)

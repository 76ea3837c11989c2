"""Links that can't be used, and a customer who leaves, comes back, goes back or refreshes."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from playwright.sync_api import BrowserContext, Page, expect

from e2e.pages.journey import (
    REQUIRED_KEYS,
    DefaultConsent,
    DefaultSoftware,
    DefaultWelcome,
    ExpiredLink,
    InvalidLink,
)
from e2e.uat.api import UatCustomer
from e2e.uat.test_journeys import ACME

# The API's shortest link lifetime (docs/api.md: expires_in is at least 60 seconds).
SHORTEST_LINK_SECONDS = 60


def test_expired_link(page: Page, customer: UatCustomer) -> None:
    link = customer.link("default", expires_in=SHORTEST_LINK_SECONDS)
    expires_at = datetime.fromisoformat(link["expires_at"].replace("Z", "+00:00"))
    # The link works until then...
    DefaultWelcome.open(page, link["url"])

    time.sleep(max(0.0, expires_at.timestamp() - time.time()) + 1.5)

    # ...and then no longer, even in the browser that started with it.
    response = page.goto(link["url"])
    assert response is not None and response.status == 410
    expired = ExpiredLink(page)
    expect(expired.main).to_contain_text("Ask the business that sent it for a new one.")


def test_tampered_link(page: Page, customer: UatCustomer) -> None:
    url = customer.url("default")
    token = url.rsplit("/", 1)[1]
    altered = token[:5] + ("A" if token[5] != "A" else "B") + token[6:]

    response = page.goto(url.replace(token, altered))

    assert response is not None and response.status == 400
    InvalidLink(page)
    assert customer.runs() == []


def test_resume_after_closing_the_browser(
    new_context: Callable[..., BrowserContext], customer: UatCustomer
) -> None:
    url = customer.url("default")
    first = new_context().new_page()
    DefaultWelcome.open(first, url).get_started().agree()
    first.context.close()

    # A new browser, nothing remembered: the same link opens the step reached.
    again = new_context().new_page()
    again.goto(url)
    done = DefaultSoftware(again).connect_sandbox(ACME)
    expect(done.connected(ACME)).to_be_visible()
    assert len(customer.runs()) == 1


def test_back_and_refresh_in_the_middle_of_a_step(page: Page, customer: UatCustomer) -> None:
    consent = DefaultWelcome.open(page, customer.url("default")).get_started()
    consent.item("ongoing_monitoring").check()

    # Refresh before agreeing: the same step, nothing recorded yet.
    consent = consent.reloaded()
    assert customer.consents() == []

    software = consent.tick_keys("ongoing_monitoring").agree()
    page.go_back()
    consent = DefaultConsent(page)
    # The answers already given are shown again, not lost.
    expect(consent.item("ongoing_monitoring")).to_be_checked()
    page.go_forward()
    software = DefaultSoftware(page).reloaded()

    done = software.connect_sandbox(ACME)
    expect(done.connected(ACME)).to_be_visible()
    assert set(customer.decisions()) >= set(REQUIRED_KEYS)

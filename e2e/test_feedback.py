"""The feedback loop in a browser: the customer rates the journey at the end (or after
declining), with or without JavaScript; the colleague reads it next to the funnel. Every
page passes axe (the page objects check it on arrival), the console's also at 390 px."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, expect

from e2e.accessibility import assert_accessible, assert_no_horizontal_scroll
from e2e.live import JourneyLink, LiveServer
from e2e.pages.base import without_javascript
from e2e.pages.journey import DefaultDone, DefaultWelcome

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_the_customer_rates_the_journey_and_the_colleague_reads_it(
    new_context: Callable[..., BrowserContext],
    admin_sessions: Callable[[str], dict[str, Any]],
    live_server: LiveServer,
    journey_link: JourneyLink,
    javascript: bool,
) -> None:
    context = new_context(java_script_enabled=javascript)
    browser = (context if javascript else without_javascript(context)).new_page()
    done: DefaultDone = (
        DefaultWelcome.open(browser, journey_link.url)
        .get_started()
        .agree_and_connect("Acme Trading Ltd")
    )
    expect(done.rating).to_be_visible()

    # A comment without a rating: the page says what is missing, by the question.
    refused = done.fill_feedback(None, "No rating yet").send_feedback_expecting_problem()
    expect(refused.error_summary).to_contain_text("Choose how easy or hard this was")

    comment = f"Clear steps {uuid.uuid4().hex[:8]}"
    thanked = refused.fill_feedback("Very easy", comment).send_feedback()
    expect(thanked.feedback_thanks).to_contain_text("Northwind Lending reads every comment")
    expect(thanked.button("Send feedback")).to_have_count(0)
    # Once per run: coming back, the page still thanks and asks no more.
    expect(thanked.reloaded().feedback_thanks).to_be_visible()

    for viewport in (DESKTOP, PHONE):
        console = new_context(storage_state=admin_sessions("viewer"), viewport=viewport)
        page = console.new_page()
        page.goto(f"{live_server.url}/admin/funnel?journey=default")
        section = page.get_by_role("region", name="Feedback table")
        expect(section.get_by_role("row").filter(has_text="(current)")).to_be_visible()
        row = page.get_by_role("region", name="Latest comments table").get_by_role(
            "row", name=comment
        )
        expect(row).to_contain_text("5 (very easy)")
        customer = row.get_by_role("link", name="Acme Ltd")
        expect(customer).to_have_attribute(
            "href", f"/admin/customers/{journey_link.customer_public_id}"
        )
        assert_accessible(page)
        assert_no_horizontal_scroll(page)
        console.close()


def test_after_declining_the_customer_may_say_why(
    new_context: Callable[..., BrowserContext], journey_link: JourneyLink
) -> None:
    browser = without_javascript(new_context(java_script_enabled=False)).new_page()
    declined = DefaultWelcome.open(browser, journey_link.url).get_started().decline()
    thanked = declined.fill_feedback("Hard", "I'd rather send PDFs").send_feedback()
    expect(thanked.feedback_thanks).to_be_visible()
    # The way back to change one's mind is still there.
    expect(thanked.button("Review what you're asked to share")).to_be_visible()

"""A customer says how the journey went, at the end or after declining: the business
thanks them in its own name, and colleagues read it next to the console's funnel."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from e2e.pages.base import without_javascript
from e2e.pages.console import ConsoleSignIn
from e2e.pages.journey import DefaultWelcome
from e2e.uat.api import UatCustomer


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_feedback_at_the_end_reaches_the_console(
    new_context: Callable[..., BrowserContext],
    page: Page,
    customer: UatCustomer,
    admin_login: tuple[str, str],
    javascript: bool,
) -> None:
    context = new_context(java_script_enabled=javascript)
    browser = (context if javascript else without_javascript(context)).new_page()
    done = (
        DefaultWelcome.open(browser, customer.url("default"))
        .get_started()
        .agree_and_connect("Acme Trading Ltd")
    )
    comment = f"Easier than expected {uuid.uuid4().hex[:8]}"

    thanked = done.fill_feedback("Easy", comment).send_feedback()

    expect(thanked.feedback_thanks).to_contain_text("Northwind Lending reads every comment")
    expect(thanked.button("Send feedback")).to_have_count(0)

    email, password = admin_login
    ConsoleSignIn.open(page).sign_in(email, password)
    page.goto("/admin/funnel?journey=default")
    comments = page.get_by_role("region", name="Latest comments table")
    expect(comments.get_by_role("row", name=comment)).to_contain_text("4 (easy)")


def test_feedback_after_declining(
    new_context: Callable[..., BrowserContext], customer: UatCustomer
) -> None:
    browser = new_context().new_page()
    declined = DefaultWelcome.open(browser, customer.url("default")).get_started().decline()

    thanked = declined.fill_feedback("Very hard", "Too much asked of me").send_feedback()

    expect(thanked.feedback_thanks).to_be_visible()
    expect(thanked.button("Review what you're asked to share")).to_be_visible()

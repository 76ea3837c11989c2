"""A customer who can't finish now saves their place and comes back later, elsewhere."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, expect

from e2e.pages.base import without_javascript
from e2e.pages.journey import DefaultSoftware, DefaultWelcome
from e2e.uat.api import UatCustomer
from e2e.uat.test_journeys import ACME


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_save_and_finish_later_on_another_device(
    new_context: Callable[..., BrowserContext], customer: UatCustomer, javascript: bool
) -> None:
    context = new_context(java_script_enabled=javascript)
    first = (context if javascript else without_javascript(context)).new_page()
    software = DefaultWelcome.open(first, customer.url("default")).get_started().agree()

    later = software.save_and_finish_later()
    expect(later.main).to_contain_text("Your answers so far are saved.")
    expect(later.main).to_contain_text("The link works for")
    resume_url = later.resume_url
    # "Continue now" goes straight back to where they were.
    later.continue_now_to(DefaultSoftware)
    first.context.close()

    # Another browser, nothing remembered: the kept link opens the step reached.
    again = new_context().new_page()
    again.goto(resume_url)
    done = DefaultSoftware(again).connect_sandbox(ACME)
    expect(done.connected(ACME)).to_be_visible()
    assert len(customer.runs()) == 1

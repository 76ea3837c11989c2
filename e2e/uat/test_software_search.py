"""Finding the software by name: the default journey offers five platforms where the
environment plays them all (docs/uat.md), so its software step has a search box."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from e2e.pages.journey import DefaultConnect, DefaultWelcome
from e2e.uat.api import UatCustomer


def test_search_for_the_software_and_choose_it(page: Page, customer: UatCustomer) -> None:
    software = DefaultWelcome.open(page, customer.url("default")).get_started().agree()
    if software.search.count() == 0:
        pytest.fail(
            "The software step has no search box: it shows one when more than four "
            "platforms are offered. Set ONRAMP_SANDBOX_PLAYS=xero,quickbooks,sage,freeagent "
            "on the environment under test.",
            pytrace=False,
        )

    software.search_for("quíckbooks")  # accents and case don't matter
    expect(software.shown).to_have_count(1)
    expect(software.shown).to_contain_text("QuickBooks Online")
    expect(software.status).to_have_text("1 match")

    connect = software.choose_to(DefaultConnect, name="QuickBooks Online")

    expect(connect.main).to_contain_text("How to connect QuickBooks Online")

"""A connection that breaks after connecting, noticed by the worker and repaired by the
customer in one click, keeping the connection the business already knows.

The environment's worker must run with short intervals (docs/uat.md); the suite's own
server runs one beside it."""

from __future__ import annotations

import time

from playwright.sync_api import Page, expect

from e2e.pages.account import AccountOverview
from e2e.pages.journey import SANDBOX, Reconnected
from e2e.pages.sandbox import ConnectedApps, SandboxConsent
from e2e.uat.api import UatCustomer
from e2e.uat.test_journeys import ACME, connect_default

# Far more than the worker needs (a health check every few seconds), short enough to say
# clearly that the environment's worker is not looking after connections.
NOTICED_WITHIN_SECONDS = 60


def _until_noticed(page: Page) -> AccountOverview:
    """Come back to the customer's page now and then, as a person would, until it says
    the connection needs reconnecting."""
    deadline = time.monotonic() + NOTICED_WITHIN_SECONDS
    while True:
        page.goto("/my")
        account = AccountOverview(page)
        if account.connection(SANDBOX).filter(has_text="Needs reconnecting").count():
            return account
        assert time.monotonic() < deadline, (
            "the broken connection was not noticed: is the environment's worker running "
            "with short intervals (docs/uat.md)?"
        )
        page.wait_for_timeout(1000)


def test_revoked_at_the_platform_then_repaired_in_one_click(
    page: Page, customer: UatCustomer, worker: None
) -> None:
    connect_default(page, customer, ACME)
    [connected] = customer.connections()

    # The customer takes the access away at their accounting platform.
    ConnectedApps.open(page).revoke(ACME)

    account = _until_noticed(page)
    expect(account.connection(SANDBOX)).to_contain_text(ACME)
    [broken] = customer.connections()
    assert (broken["id"], broken["status"]) == (connected["id"], "deauthorized")
    assert broken["last_error"] in ("revoked_at_provider", "refresh_refused")

    # One click: back at the platform, signed in still, the same organisation approved.
    account.reconnect(SANDBOX, ACME)
    SandboxConsent(page, back=Reconnected).choose(ACME).approve_to(Reconnected)

    [repaired] = customer.connections()
    assert (repaired["id"], repaired["status"]) == (connected["id"], "linked")
    page.goto("/my")
    expect(AccountOverview(page).connection(SANDBOX)).to_contain_text("Connected")

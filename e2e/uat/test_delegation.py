"""A customer asks their accountant to connect for them: the accountant opens the link in
a browser of their own, signs in to the Sandbox with their own login, chooses the
customer's organisation and connects; the customer's consent stays theirs, and the API
names who authorised the connection."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from e2e.pages.base import without_javascript
from e2e.pages.journey import (
    DefaultConnect,
    DefaultWelcome,
    Delegated,
    DelegatedDone,
    LinkCancelled,
    LinkUsed,
)
from e2e.pages.sandbox import ACCOUNTANT_CLIENTS, ACCOUNTANT_LOGIN
from e2e.uat.api import UatCustomer

ACCOUNTANT = ("Jane Smith", "jane@smith-accounts.example")


def _browser(new_context: Callable[..., BrowserContext], javascript: bool) -> Page:
    context = new_context(java_script_enabled=javascript)
    return (context if javascript else without_javascript(context)).new_page()


def _asked(page: Page, customer: UatCustomer) -> tuple[DefaultConnect, str]:
    """The customer, at the connect step, asks their accountant: the step and the link."""
    connect = (
        DefaultWelcome.open(page, customer.url("default"))
        .get_started()
        .agree()
        .choose_to(DefaultConnect)
    )
    form = connect.ask_accountant().ask_expecting_problem()
    expect(form.error_summary).to_contain_text("Enter the name of the person you're asking")
    sent = form.ask(*ACCOUNTANT)
    link = sent.address
    connect = sent.back_to_connecting()
    expect(connect.waiting).to_contain_text("Waiting for Jane Smith to connect")
    return connect, link


@pytest.mark.parametrize("javascript", [True, False], ids=["javascript", "no-javascript"])
def test_the_accountant_connects_for_the_customer(
    new_context: Callable[..., BrowserContext],
    customer: UatCustomer,
    javascript: bool,
) -> None:
    customer_page = _browser(new_context, javascript)
    _, link = _asked(customer_page, customer)

    accountant = _browser(new_context, javascript)
    accountant.goto(link)
    delegated = Delegated(accountant, customer=customer.name)
    expect(delegated.agreed).to_contain_text("Profit and loss, balance sheet and cash flow")
    wanted = ACCOUNTANT_CLIENTS[2].name
    sandbox = delegated.continue_to_sandbox().sign_in(*ACCOUNTANT_LOGIN).choose(wanted)
    sandbox.main.get_by_role("button", name="Approve").click()
    done = DelegatedDone(accountant, customer=customer.name)
    expect(done.main).to_contain_text(f"{wanted} in Sandbox Accounting is connected.")

    # The link worked once.
    again = _browser(new_context, javascript)
    again.goto(link)
    LinkUsed(again)

    linked = [c for c in customer.connections() if c["status"] == "linked"]
    assert [(c["organisation_name"], c["authorised_by"]) for c in linked] == [
        (wanted, {"role": "accountant"})
    ]
    # What the customer agreed is unchanged: the required items, granted by them.
    assert customer.decisions() == {
        "financial_statements": "granted",
        "invoices_bills": "granted",
        "ongoing_monitoring": "declined",
    }


def test_the_customer_cancels_and_the_link_stops(
    new_context: Callable[..., BrowserContext], customer: UatCustomer
) -> None:
    connect, link = _asked(_browser(new_context, True), customer)
    accountant = _browser(new_context, True)
    accountant.goto(link)
    Delegated(accountant, customer=customer.name)

    connect = connect.cancel_request()
    expect(connect.link("Ask my accountant to do this")).to_be_visible()
    accountant.reload()
    LinkCancelled(accountant)
    assert customer.connections() == []

"""'Ask my accountant to do this' in Chromium: the customer delegates and copies the link;
the accountant, in a browser of their own, signs in to the Sandbox with their own login,
picks the customer's organisation and connects; with and without JavaScript."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect

from e2e.accessibility import assert_accessible
from e2e.admin import ConsentsPage, sign_in_as
from e2e.live import JourneyLink, LiveServer
from e2e.pages import SANDBOX, ConnectPage, Screen, WelcomePage
from e2e.pages.sandbox import ACCOUNTANT_CLIENTS, ACCOUNTANT_LOGIN

CUSTOMER = "Acme Ltd"
BUSINESS = "Northwind Lending"


class DelegatePage(Screen):
    title = "Ask someone to connect for you"

    def ask(self, name: str, email: str, role: str = "My accountant") -> DelegateSentPage:
        self.main.get_by_label("Their name").fill(name)
        self.main.get_by_label("Their email address").fill(email)
        self.main.get_by_role("group", name="Who are they?").get_by_role("radio", name=role).check()
        self.main.get_by_role("button", name="Create their link").click()
        return DelegateSentPage(self.page, name)

    def ask_expecting_problem(self) -> DelegatePage:
        self.main.get_by_role("button", name="Create their link").click()
        page = DelegatePage(self.page)
        expect(page.error_summary).to_be_visible()
        return page


class DelegateSentPage(Screen):
    def __init__(self, page: Page, name: str) -> None:
        self.title = f"Your link for {name}"
        self.name = name
        super().__init__(page)

    @property
    def link(self) -> str:
        found = self.main.get_by_role("link", name=re.compile("journey.delegated."))
        href = found.get_attribute("href")
        assert href is not None
        return href

    def back_to_connecting(self) -> ConnectPage:
        self.main.get_by_role("link", name="Back to connecting").click()
        return ConnectPage(self.page)


class DelegatedStartPage(Screen):
    title = f"Connect {CUSTOMER}'s accounting software"

    @property
    def agreed(self) -> Locator:
        return self.main.get_by_role("region", name=f"What {CUSTOMER} agreed to share")

    def continue_to_sandbox(self) -> Screen:
        self.main.get_by_role("button", name=f"Continue to {SANDBOX}").click()
        return SandboxSignIn(self.page)


class SandboxSignIn(Screen):
    title = "Sign in to Sandbox Accounting"

    def sign_in(self, login: tuple[str, str]) -> SandboxConsent:
        self.main.get_by_label("Email address").fill(login[0])
        self.main.get_by_label("Password").fill(login[1])
        self.main.get_by_role("button", name="Sign in").click()
        return SandboxConsent(self.page)


class SandboxConsent(Screen):
    title = f"Allow {BUSINESS} to read your accounts?"

    def approve_for(self, organisation: str) -> DelegatedDonePage:
        self.main.get_by_role("group", name="Choose an organisation").get_by_role(
            "radio", name=organisation, exact=True
        ).check()
        self.main.get_by_role("button", name="Approve").click()
        return DelegatedDonePage(self.page)


class DelegatedDonePage(Screen):
    title = f"Done — {CUSTOMER}'s accounting software is connected for {BUSINESS}"


def _customer_delegates(page: Page, journey_link: JourneyLink, axe: bool = True) -> str:
    """The customer walks to the connect step and asks their accountant; the link.
    ``axe``: check each page (axe runs as a script: not where JavaScript is off)."""
    check = assert_accessible if axe else (lambda _: None)
    connect = WelcomePage.open(page, journey_link.url).get_started().agree().choose(SANDBOX)
    connect.main.get_by_role("link", name="Ask my accountant to do this").click()
    form = DelegatePage(page)
    check(page)
    form = form.ask_expecting_problem()
    check(page)
    sent = form.ask("Jane Smith", "jane@smith-accounts.example")
    check(page)
    link = sent.link
    connect = sent.back_to_connecting()
    expect(connect.main.get_by_role("status")).to_contain_text("Waiting for Jane Smith to connect")
    return link


@pytest.mark.parametrize("javascript", [True, False], ids=["with JS", "without JS"])
def test_a_customer_delegates_and_their_accountant_connects(
    new_context: Callable[..., BrowserContext],
    journey_link: JourneyLink,
    live_server: LiveServer,
    javascript: bool,
) -> None:
    customer = new_context(java_script_enabled=javascript).new_page()
    link = _customer_delegates(customer, journey_link, axe=javascript)
    check = assert_accessible if javascript else (lambda _: None)

    # The accountant on a phone: the delegated pages at 320 px.
    accountant = new_context(
        java_script_enabled=javascript, viewport={"width": 320, "height": 640}
    ).new_page()
    accountant.goto(link)
    start = DelegatedStartPage(accountant)
    expect(start.main).to_contain_text(f"{CUSTOMER} asked you to connect their {SANDBOX}")
    expect(start.agreed).to_contain_text("Profit and loss, balance sheet and cash flow")
    check(accountant)
    wanted = ACCOUNTANT_CLIENTS[1].name
    done = start.continue_to_sandbox().sign_in(ACCOUNTANT_LOGIN).approve_for(wanted)
    check(accountant)
    expect(done.main).to_contain_text(f"{wanted} in {SANDBOX} is connected.")

    # The link worked once: a second opening is refused.
    again = new_context(java_script_enabled=javascript).new_page()
    again.goto(link)
    expect(again.get_by_role("heading", level=1)).to_have_text("This link has already been used")
    check(again)

    [connection] = live_server.connections(journey_link.customer_public_id)
    assert (connection.status, connection.org_name) == ("linked", wanted)
    assert connection.authorised_by_role == "accountant"

    # The customer's page shows it, and who connected.
    customer.goto("/my")
    main = customer.get_by_role("main")
    expect(main.get_by_role("region", name="People you asked to connect")).to_contain_text(
        "Jane Smith (your accountant)"
    )
    expect(main).to_contain_text("Connected by")
    check(customer)


def test_the_ledger_names_the_accountants_role(
    new_context: Callable[..., BrowserContext],
    page: Page,
    journey_link: JourneyLink,
    live_server: LiveServer,
) -> None:
    customer = new_context().new_page()
    link = _customer_delegates(customer, journey_link)
    accountant = new_context().new_page()
    accountant.goto(link)
    DelegatedStartPage(accountant).continue_to_sandbox().sign_in(ACCOUNTANT_LOGIN).approve_for(
        ACCOUNTANT_CLIENTS[0].name
    )
    consents = sign_in_as(page, live_server, "viewer").open_section("Consents", ConsentsPage)
    consents = consents.filter(Decision="scoped")
    expect(
        consents.rows_for(CUSTOMER).filter(has_text="delegate: accountant").first
    ).to_be_visible()


def test_the_link_stops_at_once_when_the_customer_cancels(
    new_context: Callable[..., BrowserContext],
    journey_link: JourneyLink,
    live_server: LiveServer,
) -> None:
    customer = new_context().new_page()
    link = _customer_delegates(customer, journey_link)
    accountant = new_context().new_page()
    accountant.goto(link)
    DelegatedStartPage(accountant)
    connect = ConnectPage(customer)
    connect.main.get_by_role("button", name="Cancel the request").click()
    connect = ConnectPage(customer)
    expect(connect.main.get_by_role("link", name="Ask my accountant to do this")).to_be_visible()
    accountant.reload()
    expect(accountant.get_by_role("heading", level=1)).to_have_text("This link has been cancelled")
    assert_accessible(accountant)

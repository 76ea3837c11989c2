"""Page objects for the customer journey and the Sandbox Accounting provider.

Each one is scoped to the page's ``main`` landmark, checks on creation that the
browser really is on that page, and returns the next page object from each
action that navigates. Locators use roles, accessible names and label texts only.
"""

from __future__ import annotations

import re
from typing import ClassVar

from playwright.sync_api import Locator, Page, expect

from app.sandbox.data import SANDBOX_LOGIN_EMAIL, SANDBOX_LOGIN_PASSWORD

TOTAL_STEPS = 6

# The consent items of journeys/default.yaml, as their checkboxes name them.
FINANCIAL_STATEMENTS = "Profit and loss, balance sheet and cash flow"
INVOICES_AND_BILLS = "Invoices, bills and the people you trade with"
ONGOING_MONITORING = "Monthly updates of the same records while your loan is open"
REQUIRED_ITEMS = (FINANCIAL_STATEMENTS, INVOICES_AND_BILLS)
ALL_ITEMS = (*REQUIRED_ITEMS, ONGOING_MONITORING)

SANDBOX = "Sandbox Accounting"
UNAVAILABLE_PLATFORMS = ("Xero", "QuickBooks Online", "Sage Business Cloud Accounting", "FreeAgent")


class Screen:
    """Any page: its ``main`` landmark and its one level-1 heading."""

    title: ClassVar[str]

    def __init__(self, page: Page) -> None:
        self.page = page
        self.main = page.get_by_role("main")
        self.heading = self.main.get_by_role("heading", level=1)
        expect(self.heading).to_have_text(self.title)
        # One page, not a page swapped whole into another one's #journey.
        expect(self.main).to_have_count(1)

    @property
    def error_summary(self) -> Locator:
        """The box listing what to correct, each item a link to its field."""
        return self.main.get_by_role("alert").filter(
            has=self.page.get_by_role("heading", name="There is a problem")
        )


class JourneyStep(Screen):
    """A step of the default journey, which says where the customer is."""

    number: ClassVar[int]

    def __init__(self, page: Page) -> None:
        super().__init__(page)
        # WCAG 2.4.2: the window's title follows the step, htmx swaps included.
        expect(page).to_have_title(
            re.compile(rf"^(Error: )?{re.escape(self.title)} · Northwind Lending$")
        )
        expect(self.progress_bar).to_be_visible()
        expect(self.progress_label).to_be_visible()

    @property
    def progress_label(self) -> Locator:
        label = f"Step {self.number} of {TOTAL_STEPS}"
        return self.main.get_by_role("paragraph").filter(has_text=re.compile(rf"^{label}$"))

    @property
    def progress_bar(self) -> Locator:
        return self.main.get_by_role(
            "progressbar", name=f"Step {self.number} of {TOTAL_STEPS}", exact=True
        )


class WelcomePage(JourneyStep):
    title = "Connect your accounting software to Northwind Lending"
    number = 1

    @classmethod
    def open(cls, page: Page, link: str) -> WelcomePage:
        page.goto(link)
        return cls(page)

    @property
    def get_started_button(self) -> Locator:
        return self.main.get_by_role("button", name="Get started")

    def get_started(self) -> ConsentPage:
        self.get_started_button.click()
        return ConsentPage(self.page)


class ConsentPage(JourneyStep):
    title = "What you agree to share"
    number = 2

    def checkbox(self, category: str) -> Locator:
        return self.main.get_by_role("checkbox", name=f"I agree to share: {category}", exact=True)

    @property
    def agree_button(self) -> Locator:
        return self.main.get_by_role("button", name="Agree and continue")

    def tick(self, *categories: str) -> ConsentPage:
        for category in categories:
            self.checkbox(category).check()
        return self

    def agree(self) -> SoftwarePage:
        self.agree_button.click()
        return SoftwarePage(self.page)

    def agree_expecting_problem(self) -> ConsentPage:
        self.agree_button.click()
        page = ConsentPage(self.page)
        expect(page.error_summary).to_be_visible()
        return page

    def decline(self) -> DeclinedPage:
        self.main.get_by_role("button", name="Decline and stop").click()
        return DeclinedPage(self.page)


class DeclinedPage(Screen):
    title = "You declined to share your accounting data"

    def review(self) -> ConsentPage:
        self.main.get_by_role("button", name="Review what you're asked to share").click()
        return ConsentPage(self.page)


class SoftwarePage(JourneyStep):
    title = "Choose your accounting software"
    number = 3

    @property
    def choices(self) -> Locator:
        return self.main.get_by_role("group", name="Your accounting software")

    def platform(self, name: str) -> Locator:
        """The option for a platform; an unavailable one's name also says so."""
        return self.choices.get_by_role("radio", name=re.compile(rf"^{re.escape(name)}\b"))

    def choose(self, name: str = SANDBOX) -> SoftwarePage:
        self.platform(name).check()
        return self

    def continue_(self) -> InstructionsPage:
        self.main.get_by_role("button", name="Continue").click()
        return InstructionsPage(self.page)

    def continue_expecting_problem(self) -> SoftwarePage:
        self.main.get_by_role("button", name="Continue").click()
        page = SoftwarePage(self.page)
        expect(page.error_summary).to_be_visible()
        return page


class InstructionsPage(JourneyStep):
    title = "Before you connect"
    number = 4

    def ready(self) -> ConnectPage:
        self.main.get_by_role("button", name="I'm ready to connect").click()
        return ConnectPage(self.page)


class ConnectPage(JourneyStep):
    title = "Connect your accounting software"
    number = 5

    @property
    def alert(self) -> Locator:
        return self.main.get_by_role("alert")

    @property
    def continue_button(self) -> Locator:
        return self.main.get_by_role("button", name=f"Continue to {SANDBOX}")

    @property
    def try_again_button(self) -> Locator:
        return self.main.get_by_role("button", name="Try again")

    def continue_to_sandbox(self) -> SandboxSignInPage:
        self.continue_button.click()
        return SandboxSignInPage(self.page)

    def try_again(self) -> SandboxConsentPage:
        """Start again; the customer is still signed in at the sandbox from the last attempt."""
        self.try_again_button.click()
        return SandboxConsentPage(self.page)


class DonePage(JourneyStep):
    title = "You're connected"
    number = 6

    @property
    def status(self) -> Locator:
        return self.main.get_by_role("status")


class SandboxSignInPage(Screen):
    title = "Sign in to Sandbox Accounting"

    def sign_in(
        self, email: str = SANDBOX_LOGIN_EMAIL, password: str = SANDBOX_LOGIN_PASSWORD
    ) -> SandboxConsentPage:
        self.main.get_by_label("Email address").fill(email)
        self.main.get_by_label("Password").fill(password)
        self.main.get_by_role("button", name="Sign in").click()
        return SandboxConsentPage(self.page)


class SandboxConsentPage(Screen):
    title = "Allow Onramp to read your accounts?"

    @property
    def organisations(self) -> Locator:
        return self.main.get_by_role("group", name="Choose an organisation")

    def organisation(self, name: str) -> Locator:
        return self.organisations.get_by_role("radio", name=name, exact=True)

    def choose(self, organisation: str) -> SandboxConsentPage:
        self.organisation(organisation).check()
        return self

    def approve_expecting_problem(self) -> SandboxConsentPage:
        self.main.get_by_role("button", name="Approve").click()
        page = SandboxConsentPage(self.page)
        expect(page.error_summary).to_be_visible()
        return page

    def approve(self) -> DonePage:
        self.main.get_by_role("button", name="Approve").click()
        return DonePage(self.page)

    def deny(self) -> ConnectPage:
        self.main.get_by_role("button", name="Deny").click()
        return ConnectPage(self.page)

    def simulate_error(self) -> ConnectPage:
        self.main.get_by_role("button", name="Simulate an error").click()
        return ConnectPage(self.page)


class InvalidLinkPage(Screen):
    """The friendly page a customer sees when their link was altered or cut short."""

    title = "This link isn't valid"

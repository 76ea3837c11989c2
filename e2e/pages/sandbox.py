"""UAT page objects for the Sandbox, the accounting platform every scenario scripts.

The Sandbox is in English whatever the journey's language. It was reached from a
journey's connect step, and its answers (approve, deny, simulate an error) lead back
into the journey: to the connect step (``back``) when access was not given.
"""

from __future__ import annotations

from playwright.sync_api import Locator, Page

from app.sandbox.data import SANDBOX_LOGIN_EMAIL, SANDBOX_LOGIN_PASSWORD
from e2e.pages.base import PageT, UatPage, titled
from e2e.pages.journey import Connect


class SandboxPage(UatPage):
    """A Sandbox page, remembering the journey step it returns to and its language."""

    def __init__(self, page: Page, back: type[Connect], lang: str = "en") -> None:
        super().__init__(page)
        self.back = back
        self.journey_lang = lang


class SandboxSignIn(SandboxPage):
    titles = titled("Sign in to Sandbox Accounting")

    def sign_in(
        self, email: str = SANDBOX_LOGIN_EMAIL, password: str = SANDBOX_LOGIN_PASSWORD
    ) -> SandboxConsent:
        self.main.get_by_label("Email address").fill(email)
        self.main.get_by_label("Password").fill(password)
        self.main.get_by_role("button", name="Sign in").click()
        return SandboxConsent(self.page, self.back, self.journey_lang)


class SandboxConsent(SandboxPage):
    titles = titled("Allow Onramp to read your accounts?")

    @property
    def organisations(self) -> Locator:
        """Every organisation the test login can give access to."""
        return self.main.get_by_role("group", name="Choose an organisation").get_by_role("radio")

    def organisation(self, name: str) -> Locator:
        group = self.main.get_by_role("group", name="Choose an organisation")
        return group.get_by_role("radio", name=name, exact=True)

    def choose(self, organisation: str) -> SandboxConsent:
        self.organisation(organisation).check()
        return self

    def approve_to(self, to: type[PageT]) -> PageT:
        """Give access: back in the journey, on ``to`` (its done page, or the connect step
        again where a journey connects several organisations)."""
        self.main.get_by_role("button", name="Approve").click()
        return to(self.page, self.journey_lang)

    def approve_expecting_problem(self) -> SandboxConsent:
        """Approve with something missing: the same page, saying what to correct."""
        self.main.get_by_role("button", name="Approve").click()
        return SandboxConsent(self.page, self.back, self.journey_lang)

    def deny(self) -> Connect:
        self.main.get_by_role("button", name="Deny").click()
        return self.back(self.page, self.journey_lang)

    def simulate_error(self) -> Connect:
        self.main.get_by_role("button", name="Simulate an error").click()
        return self.back(self.page, self.journey_lang)

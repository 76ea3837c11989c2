"""UAT page objects for the admin console, as far as the UAT scenarios go: signing in
with a UAT login (``flask uat admin``), previewing a journey, and finding a stuck
customer to send them a fresh link.

The preview shows the customer's own step pages under a "Preview" banner, so the
journey page objects of :mod:`e2e.pages.journey` serve for its steps too.
"""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page

from e2e.pages.base import PageT, UatPage, titled


class ConsoleSignIn(UatPage):
    titles = titled("Sign in to the admin console")

    @classmethod
    def open(cls, page: Page) -> ConsoleSignIn:
        page.goto("/admin/login")
        return cls(page)

    def sign_in(self, email: str, password: str) -> ConsoleOverview:
        self.main.get_by_label("Email address", exact=True).fill(email)
        self.main.get_by_label("Password", exact=True).fill(password)
        self.button("Sign in").click()
        return ConsoleOverview(self.page)


class ConsoleScreen(UatPage):
    """A signed-in console page: its sections are in the banner's navigation."""

    def open_section(self, name: str, to: type[PageT]) -> PageT:
        self.banner.get_by_role("link", name=name, exact=True).click()
        return to(self.page)


class ConsoleOverview(ConsoleScreen):
    titles = titled("Overview")

    def figure(self, label: str) -> Locator:
        """The number of a figure (a link to the list it counts), by its label's start."""
        row = self.main.get_by_role("row", name=re.compile(rf"^{re.escape(label)}"))
        return row.get_by_role("link")

    @property
    def stuck_figure(self) -> Locator:
        return self.figure("Stuck: no progress for more than")


class ConsoleCustomers(ConsoleScreen):
    titles = titled("Customers")

    @property
    def state_heading(self) -> Locator:
        return self.main.get_by_role("heading", level=2)

    def customer_link(self, name: str) -> Locator:
        """The newest customer called ``name`` (the list is newest first; earlier runs'
        customers may share a scenario's name)."""
        return self.main.get_by_role("link", name=name, exact=True).first


class ConsoleCustomer(ConsoleScreen):
    """A customer's page: its heading is their name; the summary is "At a glance"."""

    def __init__(self, page: Page, name: str) -> None:
        self.titles = titled(name)
        super().__init__(page)

    @property
    def summary(self) -> Locator:
        return self.main.get_by_role("region", name="At a glance", exact=True)

    @property
    def send_new_link_button(self) -> Locator:
        """The summary's next action, when it is a fresh link."""
        return self.summary.get_by_role("button", name="Send a new link", exact=True)

    @property
    def new_link(self) -> Locator:
        return self.main.get_by_role("textbox", name=f"Link for {self.title}", exact=True)


class ConsoleJourneys(ConsoleScreen):
    titles = titled("Journeys")

    def preview(self, journey_id: str, journey_name: str) -> PreviewSetup:
        """Preview the journey's current version (the link names the journey's id)."""
        self.link(f"Preview {journey_id}").click()
        return PreviewSetup(self.page, journey_name)


class PreviewSetup(ConsoleScreen):
    """Choosing the language and branding a preview starts in."""

    def __init__(self, page: Page, journey_name: str) -> None:
        self.titles = titled(f"Preview {journey_name}")
        super().__init__(page)

    def language(self) -> Locator:
        return self.main.get_by_label("Language", exact=True)

    def start_to(self, to: type[PageT], lang: str = "en") -> PageT:
        """Start the preview in ``lang``; its first step is ``to``, in that language."""
        self.language().select_option(lang)
        self.button("Start the preview").click()
        return to(self.page, lang)


def preview_banner(page: Page) -> Locator:
    """The banner every preview step carries, saying nothing is recorded."""
    return page.get_by_role("region", name="Preview")

"""UAT page objects for the admin console, as far as the UAT scenarios go: signing in
with the UAT login (``flask uat admin``) and previewing a journey.

The preview shows the customer's own step pages under a "Preview" banner, so the
journey page objects of :mod:`e2e.pages.journey` serve for its steps too.
"""

from __future__ import annotations

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

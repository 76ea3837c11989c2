"""UAT page objects for the customer's own page, "Your connections and consents" (/my)."""

from __future__ import annotations

from playwright.sync_api import Frame, Locator, Page

from e2e.pages.base import UatPage, titled
from e2e.pages.journey import SANDBOX


class AccountOverview(UatPage):
    titles = titled("Your connections and consents")

    def consent(self, category: str) -> Locator:
        """One consent as it stands: its heading names it."""
        return self.main.get_by_role("listitem").filter(
            has=self.page.get_by_role("heading", name=category)
        )

    def connection(self, platform: str = SANDBOX) -> Locator:
        return self.main.get_by_role("listitem").filter(
            has=self.page.get_by_role("heading", name=platform)
        )

    def reconnect(self, platform: str, organisation: str) -> None:
        """Repair a broken connection: straight back to the platform to sign in again."""
        name = f"Reconnect {platform} ({organisation})"
        self.main.get_by_role("button", name=name, exact=True).click()

    def withdraw(self, category: str) -> ConfirmWithdrawal:
        name = f"{self._('Withdraw')} {category}"
        self.main.get_by_role("link", name=name, exact=True).click()
        return ConfirmWithdrawal(self.page, self.lang)

    def disconnect(self, platform: str, organisation: str) -> ConfirmDisconnection:
        name = f"Disconnect {platform} ({organisation})"
        self.main.get_by_role("link", name=name, exact=True).click()
        return ConfirmDisconnection(self.page, self.lang)


class ConfirmWithdrawal(UatPage):
    titles = titled("Withdraw your consent?")

    def confirm(self) -> AccountOverview:
        self.button("Withdraw consent").click()
        return AccountOverview(self.page, self.lang)


class ConfirmDisconnection(UatPage):
    titles = titled(f"Disconnect {SANDBOX}?")

    def confirm(self) -> AccountOverview:
        self.main.get_by_role("button", name="Disconnect").click()
        return AccountOverview(self.page, self.lang)


class DisconnectedAtPlatform(UatPage):
    """Onramp's Disconnect URL, where the platform sends the customer after they
    disconnected the app inside it (Intuit's, for QuickBooks)."""

    titles = titled("Disconnected from %(platform)s")

    def __init__(self, page: Page | Frame, lang: str = "en", *, platform: str) -> None:
        self.platform = platform
        super().__init__(page, lang)

    @property
    def title(self) -> str:
        return self._("Disconnected from %(platform)s", platform=self.platform)

    def go_to_your_page(self) -> AccountOverview:
        self.link("Go to your page").click()
        return AccountOverview(self.page, self.lang)

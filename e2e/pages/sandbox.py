"""UAT page objects for the Sandbox, the accounting platform every scenario scripts.

The Sandbox is in English whatever the journey's language. It was reached from a
journey's connect step, and its answers (approve, deny, simulate an error) lead back
into the journey: to the connect step (``back``) when access was not given. Its
Connected apps page revokes access, as a customer does at their platform.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from playwright.sync_api import Frame, Locator, Page

from app.sandbox.data import ADVISER_USER, LEDGERLINE, SANDBOX_LOGIN_EMAIL, SANDBOX_LOGIN_PASSWORD
from e2e.pages.base import PageT, UatPage, titled
from e2e.pages.journey import Connect

if TYPE_CHECKING:
    from e2e.pages.account import DisconnectedAtPlatform

# The login an accountant (or bookkeeper) signs in with when a customer asked them to
# connect: the Sandbox's adviser, who sees their practice and several client organisations.
ACCOUNTANT_LOGIN = (ADVISER_USER.email, ADVISER_USER.password)
# The adviser's clients (their own practice aside): the organisations they connect for.
ACCOUNTANT_CLIENTS = tuple(org for org in ADVISER_USER.organisations if org != LEDGERLINE)


class SandboxPage(UatPage):
    """A Sandbox page, remembering the journey step it returns to and its language."""

    def __init__(self, page: Page | Frame, back: type[Connect], lang: str = "en") -> None:
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
    titles = titled("Allow Northwind Lending to read your accounts?")

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

    def answer_slowly(self) -> SandboxConsent:
        """Script a slow platform: the code exchange after Approve takes seconds."""
        self.main.get_by_role("checkbox", name="Answer slowly").check()
        return self

    def short_lived_access(self) -> SandboxConsent:
        """Script access tokens that expire within minutes, so Onramp must refresh them."""
        self.main.get_by_role("checkbox", name="Short-lived access").check()
        return self

    def approve_closing_window(self) -> None:
        """Approve in the Sandbox's own window (an embedded journey's): it closes itself,
        and the journey goes on in the business's page."""
        with self.tab.expect_event("close"):
            self.main.get_by_role("button", name="Approve").click()

    def approve_and_reload_while_waiting(self) -> Connect:
        """Approve, then press the browser's reload while the platform is still answering
        (after ``answer_slowly``): back on the journey's connect step."""
        with self.tab.expect_request(re.compile(r"/connect/[a-z_]+/callback\?")) as callback:
            self.main.get_by_role("button", name="Approve").click(no_wait_after=True)
        # A person reloads after a moment, not in the same millisecond: on a busy machine the
        # browser's first request could otherwise reach the server after the reload's, which
        # would then be the one waiting on the platform (the platform answers after 8 s).
        self.tab.wait_for_timeout(1500)
        self.tab.goto(callback.value.url)
        return self.back(self.tab, self.journey_lang)

    def approve_to(self, to: type[PageT]) -> PageT:
        """Give access: back in the journey, on ``to`` (its done page, or the connect step
        again where a journey connects several organisations)."""
        self.main.get_by_role("button", name="Approve").click()
        return to(self.page, self.journey_lang)

    def approve_expecting_problem(self) -> SandboxConsent:
        """Approve with something missing: the same page, saying what to correct."""
        self.main.get_by_role("button", name="Approve").click()
        self.error_summary.wait_for()
        return SandboxConsent(self.page, self.back, self.journey_lang)

    def deny(self) -> Connect:
        self.main.get_by_role("button", name="Deny").click()
        return self.back(self.page, self.journey_lang)

    def simulate_error(self) -> Connect:
        self.main.get_by_role("button", name="Simulate an error").click()
        return self.back(self.page, self.journey_lang)


class ConnectedApps(UatPage):
    """The Sandbox's "Connected apps": an organisation per section (per platform played),
    with a button for each way a connection breaks. ``playing`` names the platform the
    Sandbox played when the organisation was connected (None: the Sandbox itself)."""

    titles = titled("Connected apps")

    @classmethod
    def open(cls, page: Page) -> ConnectedApps:
        """Open it in the browser that connected; it asks to sign in only if needed."""
        page.goto("/sandbox/connections")
        if page.get_by_role("heading", level=1, name=SandboxSignIn.titles["en"]).is_visible():
            page.get_by_label("Email address").fill(SANDBOX_LOGIN_EMAIL)
            page.get_by_label("Password").fill(SANDBOX_LOGIN_PASSWORD)
            page.get_by_role("button", name="Sign in").click()
        return cls(page)

    @staticmethod
    def _named(organisation: str, playing: str | None) -> str:
        return f"{organisation} ({playing})" if playing else organisation

    def _colon_button(self, action: str, named: str) -> Locator:
        """A button whose hidden words after a colon name the organisation (browsers may
        put a space before that colon: the hidden words are a box of their own)."""
        name = re.compile(rf"^{re.escape(action)} ?: {re.escape(named)}$")
        return self.main.get_by_role("button", name=name)

    def _done(self, saying: str) -> ConnectedApps:
        """The same page again, once it says what was done."""
        self.status.filter(has_text=saying).wait_for()
        return ConnectedApps(self.page)

    def revoke(self, organisation: str, playing: str | None = None) -> ConnectedApps:
        """End every token given for the organisation: Onramp's next refresh is refused.
        The same page comes back, saying so."""
        self.button(f"Revoke access to {self._named(organisation, playing)}").click()
        return self._done(organisation)

    def expire_refresh_token(
        self, organisation: str, *, in_minutes: int = 0, playing: str | None = None
    ) -> ConnectedApps:
        """The approval's refresh token reaches its absolute expiry in ``in_minutes``; until
        then each token answer says when."""
        named = self._named(organisation, playing)
        field = self.main.get_by_label(f"Expire in how many minutes (0: now) for {named}")
        field.fill(str(in_minutes))
        self.button(f"Expire the refresh token for {named}").click()
        return self._done(f"The refresh token for {named} expires")

    def remove_organisation(self, organisation: str, playing: str | None = None) -> ConnectedApps:
        """The organisation is gone at the platform, though the app's keys still work."""
        named = self._named(organisation, playing)
        self._colon_button("Remove this organisation", named).click()
        return self._done(f"{named} was removed")

    def disconnect_button(self, organisation: str, playing: str) -> Locator:
        """Shown where the platform played sends the browser to the app's Disconnect URL
        (QuickBooks) and the environment has one for it."""
        return self._colon_button(f"Disconnect in {playing}", self._named(organisation, playing))

    def disconnect_inside(self, organisation: str, playing: str) -> DisconnectedAtPlatform:
        """Disconnect the app inside the platform: access ends, and the browser is sent on
        to Onramp's Disconnect URL."""
        from e2e.pages.account import DisconnectedAtPlatform

        self.disconnect_button(organisation, playing).click()
        return DisconnectedAtPlatform(self.page, platform=playing)

    def notify_button(self, organisation: str, playing: str) -> Locator:
        """Shown where the platform played sends change notifications (Xero, QuickBooks)
        and the environment has a key and an address for them."""
        named = self._named(organisation, playing)
        return self.button(f"Send a change notification about {named}")

    def send_change_notification(self, organisation: str, playing: str) -> ConnectedApps:
        """The platform's signed webhook about the organisation, sent to Onramp; the page
        comes back saying how Onramp answered."""
        self.notify_button(organisation, playing).click()
        return self._done(f"change notification about {organisation}")

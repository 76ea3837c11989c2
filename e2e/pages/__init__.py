"""Page objects for the customer journey and the Sandbox Accounting provider.

Each one is scoped to the page's ``main`` landmark, checks on creation that the
browser really is on that page, and returns the next page object from each
action that navigates. Locators use roles, accessible names and label texts only.
"""

from __future__ import annotations

import re
from typing import ClassVar, Self, TypeVar

from playwright.sync_api import Locator, Page, expect

from app.sandbox.data import SANDBOX_LOGIN_EMAIL, SANDBOX_LOGIN_PASSWORD
from e2e.pages.host import HostEvents
from e2e.words import in_language

TOTAL_STEPS = 5

# The consent items of journeys/default.yaml, as their checkboxes name them.
FINANCIAL_STATEMENTS = "Profit and loss, balance sheet and cash flow"
INVOICES_AND_BILLS = "Invoices, bills and the people you trade with"
ONGOING_MONITORING = "Monthly updates of the same records while your loan is open"
REQUIRED_ITEMS = (FINANCIAL_STATEMENTS, INVOICES_AND_BILLS)
ALL_ITEMS = (*REQUIRED_ITEMS, ONGOING_MONITORING)

SANDBOX = "Sandbox Accounting"
# Offered by journeys/default.yaml but not configured on the test server: not shown.
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
        """The button that chooses a platform (its name may add "Your choice")."""
        return self.choices.get_by_role("button", name=re.compile(rf"^{re.escape(name)}\b"))

    @property
    def search(self) -> Locator:
        return self.main.get_by_role("searchbox", name="Search for your software")

    def choose(self, name: str = SANDBOX) -> ConnectPage:
        """One press on the platform chooses it and goes on to connect it."""
        self.platform(name).click()
        return ConnectPage(self.page)


class ConnectPage(JourneyStep):
    """Connecting, with how to connect the chosen platform on the same page."""

    title = "Connect your accounting software"
    number = 4

    @property
    def how_to(self) -> Locator:
        return self.main.get_by_role("region", name=f"How to connect {SANDBOX}")

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

    def try_again_with_another_login(self) -> SandboxSignInPage:
        """After a role too weak: the platform asks for a login again."""
        self.main.get_by_role("button", name="Try again with another login").click()
        return SandboxSignInPage(self.page)


class DonePage(JourneyStep):
    title = "You're connected"
    number = 5

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
    title = "Allow Northwind Lending to read your accounts?"

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


# Journeys configured in journeys/*.yaml, in any of their languages. A class per step
# names its title and business, and shares the behaviour of its kind of step. Where an
# action leads is the test's to say (``get_started(ApplyConsentPage)``): the journey's
# configuration, and the customer's answers, decide what comes next.

ScreenT = TypeVar("ScreenT", bound=Screen)


class ConfiguredStep(Screen):
    """A step of a configured journey, its own words in its ``lang``.

    Where it comes in the journey depends on earlier answers (a step with ``when:``
    may be skipped), so tests check :attr:`progress_label` themselves.
    """

    business: ClassVar[str]
    # The language of Onramp's own words on the step (see e2e/words.py).
    lang: ClassVar[str] = "en"

    def __init__(self, page: Page) -> None:
        super().__init__(page)
        # The window's title names the step and the business, after "Error:" in any language.
        expect(page).to_have_title(
            re.compile(rf"(^|: ){re.escape(self.title)} · {re.escape(self.business)}$")
        )
        expect(self.progress_label).to_be_visible()

    def _(self, english: str, **values: str) -> str:
        """Onramp's own words, in the step's language."""
        return in_language(self.lang, english, **values)

    @property
    def progress_label(self) -> Locator:
        """Where the customer is, like "Step 4 of 9", in the step's language."""
        words = self._("Step %(number)s of %(total)s", number="\0", total="\0")
        pattern = r"\d+".join(re.escape(part) for part in words.split("\0"))
        return self.main.get_by_role("paragraph").filter(has_text=re.compile(rf"^{pattern}$"))

    @property
    def progress_bar(self) -> Locator:
        return self.main.get_by_role("progressbar")

    @property
    def logo(self) -> Locator:
        return self.page.get_by_role("banner").get_by_role("img", name=self.business, exact=True)

    def language(self, name: str) -> Locator:
        """A button of the language switcher, named in its own language."""
        return self.page.get_by_role("banner").get_by_role("button", name=name, exact=True)

    def switch_language(self, name: str, to: type[ScreenT]) -> ScreenT:
        self.language(name).click()
        return to(self.page)

    def _button(self, english: str, **values: str) -> Locator:
        return self.main.get_by_role("button", name=self._(english, **values), exact=True)

    def _press(self, english: str, to: type[ScreenT]) -> ScreenT:
        self._button(english).click()
        return to(self.page)

    def _press_expecting_problem(self, english: str) -> Self:
        self._button(english).click()
        page = type(self)(self.page)
        expect(page.error_summary).to_be_visible()
        return page


class ConfiguredWelcome(ConfiguredStep):
    @classmethod
    def open(cls, page: Page, link: str) -> Self:
        page.goto(link)
        return cls(page)

    def get_started(self, to: type[ScreenT]) -> ScreenT:
        return self._press("Get started", to)


class ConfiguredConsent(ConfiguredStep):
    def checkbox(self, category: str) -> Locator:
        name = self._("I agree to share: %(category)s", category=category)
        return self.main.get_by_role("checkbox", name=name, exact=True)

    def tick(self, *categories: str) -> Self:
        for category in categories:
            self.checkbox(category).check()
        return self

    def agree(self, to: type[ScreenT]) -> ScreenT:
        return self._press("Agree and continue", to)


class ConfiguredForm(ConfiguredStep):
    """A journey's own form step; its fields are found by their labels."""

    def field(self, label: str) -> Locator:
        return self.main.get_by_label(label, exact=True)

    def option(self, label: str) -> Locator:
        """A radio button of one of the form's questions."""
        return self.main.get_by_role("radio", name=label, exact=True)

    def checkbox(self, label: str) -> Locator:
        return self.main.get_by_role("checkbox", name=label, exact=True)

    def continue_(self, to: type[ScreenT]) -> ScreenT:
        return self._press("Continue", to)

    def continue_expecting_problem(self) -> Self:
        return self._press_expecting_problem("Continue")


class ConfiguredSoftware(ConfiguredStep):
    @property
    def choices(self) -> Locator:
        return self.main.get_by_role("group", name=self._("Your accounting software"))

    def platform(self, name: str) -> Locator:
        return self.choices.get_by_role("button", name=re.compile(rf"^{re.escape(name)}\b"))

    def choose_to(self, to: type[ScreenT], name: str = SANDBOX) -> ScreenT:
        """One press on the platform chooses it and goes on to ``to``."""
        self.platform(name).click()
        return to(self.page)


class ConfiguredReview(ConfiguredStep):
    def section(self, title: str) -> Locator:
        """The answers given on one step, under that step's title."""
        return self.main.get_by_role("region", name=title, exact=True)

    def questions(self, section: str) -> Locator:
        return self.section(section).get_by_role("term")

    def answers(self, section: str) -> Locator:
        return self.section(section).get_by_role("definition")

    def change(self, section: str, to: type[ScreenT]) -> ScreenT:
        self.section(section).get_by_role("link", name=f"Change {section}", exact=True).click()
        return to(self.page)

    def confirm(self, to: type[ScreenT]) -> ScreenT:
        return self._press("Confirm and continue", to)


class ConfiguredInstructions(ConfiguredStep):
    def ready(self, to: type[ScreenT]) -> ScreenT:
        return self._press("I'm ready to connect", to)


class ConfiguredConnect(ConfiguredStep):
    @property
    def connected_so_far(self) -> Locator:
        return self.main.get_by_role("status")

    def continue_to_sandbox(self) -> SandboxSignInFromJourney:
        self._button("Continue to %(platform)s", platform=SANDBOX).click()
        return SandboxSignInFromJourney(self.page)

    def connect_another(self) -> SandboxConsentFromJourney:
        """One more organisation; the sandbox still knows the customer, so no sign-in."""
        self._button("Connect another organisation").click()
        return SandboxConsentFromJourney(self.page)

    def continue_(self, to: type[ScreenT]) -> ScreenT:
        """Done connecting: on to the journey's next step."""
        return self._press("Continue", to)


class ConfiguredDone(ConfiguredStep):
    def connected(self, organisation: str) -> Locator:
        """The notice that one organisation is connected."""
        name = self._("Connected to %(organisation)s", organisation=organisation)
        return self.main.get_by_role("status").filter(
            has=self.page.get_by_role("heading", name=name, exact=True)
        )

    def return_link(self, label: str) -> Locator:
        return self.main.get_by_role("link", name=label, exact=True)


class SandboxSignInFromJourney(SandboxSignInPage):
    """The sandbox's sign-in, reached from a configured journey."""

    def sign_in(
        self, email: str = SANDBOX_LOGIN_EMAIL, password: str = SANDBOX_LOGIN_PASSWORD
    ) -> SandboxConsentFromJourney:
        super().sign_in(email, password)
        return SandboxConsentFromJourney(self.page)


class SandboxConsentFromJourney(SandboxConsentPage):
    """The sandbox's consent page; Approve leads back to where the journey says."""

    def choose(self, organisation: str) -> Self:
        super().choose(organisation)
        return self

    def approve_into(self, to: type[ScreenT]) -> ScreenT:
        self.main.get_by_role("button", name="Approve").click()
        return to(self.page)


# journeys/business.yaml: Harbour Capital's loan application.

HARBOUR = "Harbour Capital"
HARBOUR_ACCOUNTS = "Your management accounts and bank transactions"
HARBOUR_MARKETING = "Your contact details, for news about our products"


class ApplyWelcomePage(ConfiguredWelcome):
    business = HARBOUR
    title = "Tell us about your business"


class ApplyConsentPage(ConfiguredConsent):
    business = HARBOUR
    title = "What you agree to share"


class BusinessDetailsPage(ConfiguredForm):
    business = HARBOUR
    title = "About your business"


class LimitedCompanyPage(ConfiguredForm):
    """Shown only when the business is a limited company."""

    business = HARBOUR
    title = "Your limited company"


class ApplySoftwarePage(ConfiguredSoftware):
    business = HARBOUR
    title = "Choose your accounting software"


class CheckAnswersPage(ConfiguredReview):
    business = HARBOUR
    title = "Check your answers"


class ApplyInstructionsPage(ConfiguredInstructions):
    business = HARBOUR
    title = "Before you connect"


class ConnectAccountsPage(ConfiguredConnect):
    business = HARBOUR
    title = "Connect your accounts"


class ApplicationReceivedPage(ConfiguredDone):
    business = HARBOUR
    title = "Application received"


# journeys/reconnect.yaml: Northwind Lending asks for a fresh sign-in.

NORTHWIND = "Northwind Lending"


class ReconnectWelcomePage(ConfiguredWelcome):
    business = NORTHWIND
    title = "Your accounting connection needs renewing"


class ReconnectSoftwarePage(ConfiguredSoftware):
    business = NORTHWIND
    title = "Which software do you use?"


class SignInAgainPage(ConfiguredConnect):
    business = NORTHWIND
    title = "Sign in again"


class ReconnectedPage(ConfiguredDone):
    business = NORTHWIND
    title = "You're reconnected"


# journeys/default.yaml in French, and one of its steps in German.

FR_FINANCIAL_STATEMENTS = "Compte de résultat, bilan et flux de trésorerie"
FR_INVOICES_AND_BILLS = "Factures de vente, factures d'achat et vos partenaires commerciaux"
FR_ONGOING_MONITORING = "Mises à jour mensuelles de ces mêmes données pendant la durée du prêt"
FR_REQUIRED_ITEMS = (FR_FINANCIAL_STATEMENTS, FR_INVOICES_AND_BILLS)
DE_FINANCIAL_STATEMENTS = "Gewinn- und Verlustrechnung, Bilanz und Cashflow"
DE_ONGOING_MONITORING = "Monatliche Aktualisierung derselben Daten während der Kreditlaufzeit"


class FrenchWelcomePage(ConfiguredWelcome):
    business = NORTHWIND
    lang = "fr"
    title = "Connectez votre logiciel de comptabilité à Northwind Lending"


class FrenchConsentPage(ConfiguredConsent):
    business = NORTHWIND
    lang = "fr"
    title = "Ce que vous acceptez de partager"


class FrenchSoftwarePage(ConfiguredSoftware):
    business = NORTHWIND
    lang = "fr"
    title = "Choisissez votre logiciel de comptabilité"


class FrenchConnectPage(ConfiguredConnect):
    business = NORTHWIND
    lang = "fr"
    title = "Connectez votre logiciel de comptabilité"


class FrenchDonePage(ConfiguredDone):
    business = NORTHWIND
    lang = "fr"
    title = "Vous êtes connecté"


class GermanConsentPage(ConfiguredConsent):
    business = NORTHWIND
    lang = "de"
    title = "Was Sie teilen möchten"


class ReconnectingPage(SignInAgainPage):
    """The connect step of a reconnect link: it names the organisation to choose again."""

    def reconnecting(self, organisation: str) -> Locator:
        return self.main.get_by_role(
            "heading", name=self._("Reconnecting %(organisation)s", organisation=organisation)
        )

    @property
    def alert(self) -> Locator:
        return self.main.get_by_role("alert")

    def try_again(self) -> SandboxConsentFromJourney:
        """The sandbox still knows the customer: straight to its consent page."""
        self._button("Try again").click()
        return SandboxConsentFromJourney(self.page)


# Embedded mode: the business's own page (docs/examples/host-page.html) on another site,
# with the journey in a frame.

EMBEDDED_TITLE = "Connect your accounting software"


class HostPage(HostEvents):
    """The business's page: a hosted-journey link, the embedded journey, and its event log."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.main = page.get_by_role("main")
        expect(self.main.get_by_role("heading", level=1)).to_have_text("Your loan application")

    @classmethod
    def open(cls, page: Page, url: str) -> HostPage:
        page.goto(url)
        return cls(page)

    @property
    def returned(self) -> Locator:
        return self.main.get_by_role("status")

    def open_embedded(self) -> EmbeddedJourney:
        self.main.get_by_role("button", name="Connect your accounting software here").click()
        return EmbeddedJourney(self.page)

    def connect_hosted(self) -> WelcomePage:
        self.main.get_by_role("link", name="Connect your accounting software").click()
        return WelcomePage(self.page)


FRAME_ARRIVAL_MS = 15_000


class EmbeddedJourney:
    """The default journey inside the business's frame, found by the frame's title."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.element = page.get_by_title(EMBEDDED_TITLE)
        self.frame = self.element.content_frame
        self.main = self.frame.get_by_role("main")
        self.heading = self.main.get_by_role("heading", level=1)

    def to_connect(self) -> EmbeddedJourney:
        """Welcome, consent (the button agrees to the required items), the Sandbox."""
        # A frame on a busy machine can take longer than expect's 5 s to move on.
        moved = {"timeout": FRAME_ARRIVAL_MS}
        expect(self.heading).to_have_text(WelcomePage.title, **moved)
        self.main.get_by_role("button", name="Get started").click()
        expect(self.heading).to_have_text(ConsentPage.title, **moved)
        self.main.get_by_role("button", name="Agree and continue").click()
        expect(self.heading).to_have_text(SoftwarePage.title, **moved)
        self.main.get_by_role("button", name=re.compile(rf"^{SANDBOX}\b")).click()
        expect(self.heading).to_have_text(ConnectPage.title, **moved)
        return self

    def connect_link(self, name: str = f"Continue to {SANDBOX}") -> Locator:
        # A link, not a form: it leaves the frame (a popup, or the whole tab without JS).
        return self.main.get_by_role("link", name=name, exact=True)

    def open_provider(self, name: str = f"Continue to {SANDBOX}") -> Page:
        """Press the connect button: the provider opens in a popup window."""
        with self.page.expect_popup() as popup:
            self.connect_link(name).click()
        return popup.value

    @property
    def alert(self) -> Locator:
        return self.main.get_by_role("alert")

"""UAT page objects for the customer journeys shipped in journeys/.

A class per kind of step holds what that kind of step offers (tick, choose, continue);
a class per step of a journey names its title in each language. Where a configured
step leads depends on the journey and on the customer's answers, so its actions take
the next page's class (``continue_(to=CheckAnswers)``); the default journey's steps
know their next page.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Self

from playwright.sync_api import Frame, Locator, Page

from e2e.pages.base import PageT, UatPage, titled

if TYPE_CHECKING:
    from e2e.pages.account import AccountOverview
    from e2e.pages.sandbox import SandboxConsent, SandboxSignIn

SANDBOX = "Sandbox Accounting"
NORTHWIND = "Northwind Lending"

# The consent items of journeys/default.yaml, by key, as each language names them.
DEFAULT_ITEMS = {
    "financial_statements": {
        "en": "Profit and loss, balance sheet and cash flow",
        "fr": "Compte de résultat, bilan et flux de trésorerie",
        "de": "Gewinn- und Verlustrechnung, Bilanz und Cashflow",
    },
    "invoices_bills": {
        "en": "Invoices, bills and the people you trade with",
        "fr": "Factures de vente, factures d'achat et vos partenaires commerciaux",
        "de": "Ausgangs- und Eingangsrechnungen und Ihre Geschäftspartner",
    },
    "ongoing_monitoring": {
        "en": "Monthly updates of the same records while your loan is open",
        "fr": "Mises à jour mensuelles de ces mêmes données pendant la durée du prêt",
        "de": "Monatliche Aktualisierung derselben Daten während der Kreditlaufzeit",
    },
}
REQUIRED_KEYS = ("financial_statements", "invoices_bills")


class Step(UatPage):
    """Any step of a journey: it says where the customer is."""

    @property
    def progress(self) -> Locator:
        """The "Step 2 of 6" text, in the step's language."""
        pattern = r"\d+".join(
            re.escape(part)
            for part in self._("Step %(number)s of %(total)s", number="\0", total="\0").split("\0")
        )
        return self.main.get_by_role("paragraph").filter(has_text=re.compile(rf"^{pattern}$"))

    def language(self, name: str) -> Locator:
        """A button of the language switcher in the header, named in its own language."""
        return self.banner.get_by_role("button", name=name, exact=True)

    def switch_language(self, name: str, lang: str, to: type[PageT]) -> PageT:
        self.language(name).click()
        return to(self.page, lang)

    def save_and_finish_later(self) -> FinishLater:
        """Leave for now; the page gives the link back (an environment without mail)."""
        self.button("Save and finish later").click()
        return self.go(FinishLater)


# Kinds of step.


class Welcome(Step):
    @classmethod
    def open(cls, page: Page, link: str, lang: str = "en") -> Welcome:
        page.goto(link)
        return cls(page, lang)

    @property
    def get_started_button(self) -> Locator:
        return self.button("Get started")

    def get_started_to(self, to: type[PageT]) -> PageT:
        self.get_started_button.click()
        return self.go(to)


class Consent(Step):
    def checkbox(self, category: str) -> Locator:
        return self.main.get_by_role(
            "checkbox", name=self._("I agree to share: %(category)s", category=category), exact=True
        )

    @property
    def agree_button(self) -> Locator:
        return self.button("Agree and continue")

    def tick(self, *categories: str) -> Consent:
        for category in categories:
            self.checkbox(category).check()
        return self

    def agree_to(self, to: type[PageT]) -> PageT:
        self.agree_button.click()
        return self.go(to)

    def agree_expecting_problem(self) -> Consent:
        """Agree with something required left unticked: the same step, with a problem."""
        self.agree_button.click()
        return self.expecting_problem()

    def decline(self) -> Declined:
        self.button("Decline and stop").click()
        return self.go(Declined)


class Form(Step):
    """A journey's own questions; fields are found by their labels."""

    def field(self, label: str) -> Locator:
        return self.main.get_by_label(label, exact=True)

    def option(self, label: str) -> Locator:
        return self.main.get_by_role("radio", name=label, exact=True)

    def continue_to(self, to: type[PageT]) -> PageT:
        self.button("Continue").click()
        return self.go(to)


class Software(Step):
    """Each platform the customer can connect here is a button: one press chooses it."""

    def platform(self, name: str) -> Locator:
        """The button that chooses ``name`` (its name may add "Your choice")."""
        choices = self.main.get_by_role("group", name=self._("Your accounting software"))
        return choices.get_by_role("button", name=re.compile(rf"^{re.escape(name)}\b"))

    @property
    def search(self) -> Locator:
        return self.main.get_by_role("searchbox", name=self._("Search for your software"))

    @property
    def shown(self) -> Locator:
        """The platform buttons the customer can see (a search hides the others)."""
        choices = self.main.get_by_role("group", name=self._("Your accounting software"))
        return choices.get_by_role("button")

    @property
    def status(self) -> Locator:
        """What the search found, said politely to screen readers as it changes."""
        return self.main.get_by_role("status")

    def search_for(self, text: str) -> Software:
        """Type into the search box, as a person does, key by key."""
        self.search.fill("")
        self.search.press_sequentially(text)
        return self

    def choose_to(self, to: type[PageT], name: str = SANDBOX) -> PageT:
        self.platform(name).click()
        return self.go(to)

    def tell_not_listed(self, software: str, business: str = NORTHWIND) -> Software:
        """Say the software used isn't listed, naming it; the same step comes back."""
        self.main.get_by_text(self._("My software isn't listed"), exact=True).click()
        self.main.get_by_label(self._("What software do you use?"), exact=True).fill(software)
        self.button("Tell %(business)s", business=business).click()
        return type(self)(self.page, self.lang)

    def upload_instead_to(self, to: type[PageT]) -> PageT:
        """Offered once the software is said not to be listed: send files instead."""
        self.button("Upload my accounts instead").click()
        return self.go(to)


class Upload(Step):
    """Files instead of connecting: one picker taking several files, then Upload."""

    @property
    def files(self) -> Locator:
        return self.main.get_by_label(self._("Your files"), exact=True)

    def choose(self, *paths: str) -> Upload:
        self.files.set_input_files(list(paths))
        return self

    def upload_to(self, to: type[PageT]) -> PageT:
        self.button("Upload and continue").click()
        return self.go(to)

    def upload_expecting_problem(self) -> Upload:
        self.button("Upload and continue").click()
        return self.expecting_problem()

    def connect_instead_to(self, to: type[PageT]) -> PageT:
        self.button("Connect my software instead").click()
        return self.go(to)


class Review(Step):
    def confirm_to(self, to: type[PageT]) -> PageT:
        self.main.get_by_role("button", name="Confirm and continue").click()
        return self.go(to)


class Instructions(Step):
    def ready_to(self, to: type[PageT]) -> PageT:
        self.button("I'm ready to connect").click()
        return self.go(to)


class Connect(Step):
    """The connect step: off to the provider, and back here when it went wrong."""

    @property
    def continue_button(self) -> Locator:
        return self.button("Continue to %(platform)s", platform=SANDBOX)

    @property
    def try_again_button(self) -> Locator:
        return self.button("Try again")

    @property
    def connected_so_far(self) -> Locator:
        return self.status.get_by_role("listitem")

    @property
    def finishing_notice(self) -> Locator:
        """Said while the platform's answer is still being completed."""
        return self.status.filter(
            has=self.page.get_by_role("heading", name=self._("We're still finishing connecting"))
        )

    def check_again_to(self, to: type[PageT]) -> PageT:
        self.link("Check again").click()
        return self.go(to)

    def continue_to_sandbox(self) -> SandboxSignIn:
        from e2e.pages.sandbox import SandboxSignIn

        self.continue_button.click()
        return SandboxSignIn(self.page, back=type(self), lang=self.lang)

    def continue_to_platform(self, name: str) -> SandboxSignIn:
        """On to a platform the Sandbox plays (``SANDBOX_PLAYS``): its button names the
        platform the customer chose, and the Sandbox's sign-in page opens."""
        from e2e.pages.sandbox import SandboxSignIn

        self.button("Continue to %(platform)s", platform=name).click()
        return SandboxSignIn(self.page, back=type(self), lang=self.lang)

    def continue_to_sandbox_signed_in(self) -> SandboxConsent:
        """On to the Sandbox, which still knows the customer: straight to its consent page."""
        from e2e.pages.sandbox import SandboxConsent

        self.continue_button.click()
        return SandboxConsent(self.page, back=type(self), lang=self.lang)

    def try_again(self) -> SandboxConsent:
        """Start again; the Sandbox still knows the customer, so no sign-in."""
        from e2e.pages.sandbox import SandboxConsent

        self.try_again_button.click()
        return SandboxConsent(self.page, back=type(self), lang=self.lang)

    def try_again_with_another_login(self) -> SandboxSignIn:
        """After a role too weak: the platform asks for a login again, whoever it knew."""
        from e2e.pages.sandbox import SandboxSignIn

        self.button("Try again with another login").click()
        return SandboxSignIn(self.page, back=type(self), lang=self.lang)

    def open_sandbox_window(self) -> SandboxSignIn:
        """Embedded in the business's page, the connect button is a link that opens the
        Sandbox in a window of its own; approving there closes it."""
        from e2e.pages.sandbox import SandboxSignIn

        with self.tab.expect_popup() as window:
            self.main.get_by_role(
                "link", name=self._("Continue to %(platform)s", platform=SANDBOX), exact=True
            ).click()
        return SandboxSignIn(window.value, back=type(self), lang=self.lang)

    def connect_another(self) -> SandboxConsent:
        from e2e.pages.sandbox import SandboxConsent

        self.main.get_by_role("button", name="Connect another organisation").click()
        return SandboxConsent(self.page, back=type(self), lang=self.lang)

    def continue_to(self, to: type[PageT]) -> PageT:
        self.button("Continue").click()
        return self.go(to)

    def upload_instead_to(self, to: type[PageT]) -> PageT:
        """Offered after a failed connection: send files instead."""
        self.button("Upload my accounts instead").click()
        return self.go(to)

    @property
    def waiting(self) -> Locator:
        """Said while someone the customer asked has yet to connect."""
        return self.status.filter(has=self.page.get_by_role("heading", level=2))

    def ask_accountant(self) -> AskSomeone:
        """'Ask my accountant to do this': the form naming who connects."""
        self.link("Ask my accountant to do this").click()
        return self.go(AskSomeone)

    def cancel_request(self) -> Self:
        """Cancel the request to the person asked: their link stops working."""
        self.button("Cancel the request").click()
        return type(self)(self.page, self.lang)


class ChooseOrganisation(Step):
    """The platform gave access to several organisations: the customer picks one."""

    titles = titled(
        "Choose the organisation", fr="Choisissez l'organisation", de="Wählen Sie die Organisation"
    )

    def organisation(self, name: str) -> Locator:
        return self.main.get_by_role("radio", name=name, exact=True)

    def connect_to(self, name: str, to: type[PageT]) -> PageT:
        self.organisation(name).check()
        self.button("Connect this organisation").click()
        return self.go(to)


class GivesFeedback(UatPage):
    """The done and declined pages ask how it went: a rating and a line, once per run."""

    @property
    def rating(self) -> Locator:
        return self.main.get_by_role("group", name=self._("How was this?"))

    def rate(self, label: str) -> Locator:
        return self.rating.get_by_role("radio", name=self._(label), exact=True)

    @property
    def comment(self) -> Locator:
        return self.main.get_by_label(self._("Anything you'd like to add? (optional)"), exact=True)

    @property
    def feedback_thanks(self) -> Locator:
        heading = self.page.get_by_role("heading", name=self._("Thank you for your feedback"))
        return self.status.filter(has=heading)

    def fill_feedback(self, label: str | None, comment: str = "") -> Self:
        if label is not None:
            self.rate(label).check()
        if comment:
            self.comment.fill(comment)
        return self

    def send_feedback(self) -> Self:
        """Send it: the same page comes back, thanking the customer."""
        self.button("Send feedback").click()
        self.feedback_thanks.wait_for()
        return type(self)(self.page, self.lang)

    def send_feedback_expecting_problem(self) -> Self:
        self.button("Send feedback").click()
        return self.expecting_problem()


class Done(Step, GivesFeedback):
    def files_sent(self, count: int, business: str = NORTHWIND) -> Locator:
        """The notice naming the files sent, under its heading."""
        name = (
            self._("1 file sent to %(business)s", business=business)
            if count == 1
            else self._("%(count)s files sent to %(business)s", count=str(count), business=business)
        )
        return self.status.filter(has=self.page.get_by_role("heading", name=name, exact=True))

    def connected(self, organisation: str) -> Locator:
        """The notice that an organisation is connected."""
        name = self._("Connected to %(organisation)s", organisation=organisation)
        return self.status.filter(has=self.page.get_by_role("heading", name=name, exact=True))

    def return_link(self, label: str) -> Locator:
        return self.main.get_by_role("link", name=label, exact=True)

    def your_connections(self) -> AccountOverview:
        from e2e.pages.account import AccountOverview

        self.link("Your connections and consents").click()
        return AccountOverview(self.page, self.lang)

    def see_receipt(self) -> Receipt:
        """The consent receipt, offered at the moment of consent."""
        self.link("See your consent receipt").click()
        return Receipt(self.page, self.lang)


class Receipt(UatPage):
    """The customer's consent receipt: readable, printable, a signed copy to keep."""

    titles = titled("Your consent receipt")

    @property
    def download(self) -> Locator:
        return self.link("Download a signed copy you can keep")

    def agreed(self, category: str) -> Locator:
        return self.main.get_by_role("listitem").filter(
            has=self.page.get_by_role("heading", name=category)
        )


# journeys/default.yaml (Northwind Lending), in English, French and German.


class DefaultWelcome(Welcome):
    titles = titled(
        "Connect your accounting software to Northwind Lending",
        fr="Connectez votre logiciel de comptabilité à Northwind Lending",
        de="Verbinden Sie Ihre Buchhaltungssoftware mit Northwind Lending",
    )

    def get_started(self) -> DefaultConsent:
        return self.get_started_to(DefaultConsent)


class DefaultConsent(Consent):
    titles = titled(
        "What you agree to share",
        fr="Ce que vous acceptez de partager",
        de="Was Sie teilen möchten",
    )

    def item(self, key: str) -> Locator:
        """The checkbox of one of journeys/default.yaml's items, by its key."""
        return self.checkbox(DEFAULT_ITEMS[key][self.lang])

    def tick_keys(self, *keys: str) -> DefaultConsent:
        for key in keys:
            self.item(key).check()
        return self

    def agree(self) -> DefaultSoftware:
        return self.agree_to(DefaultSoftware)

    def agree_and_connect(self, organisation: str) -> DefaultDone:
        """The rest of the happy path: agree, pick the Sandbox, sign in there and approve
        ``organisation``."""
        return self.agree().connect_sandbox(organisation)


class DefaultSoftware(Software):
    titles = titled(
        "Choose your accounting software",
        fr="Choisissez votre logiciel de comptabilité",
        de="Wählen Sie Ihre Buchhaltungssoftware",
    )

    def choose_sandbox(self) -> DefaultConnect:
        return self.choose_to(DefaultConnect)

    def connect_sandbox(self, organisation: str) -> DefaultDone:
        """From here to connected: the Sandbox, signing in there, approving
        ``organisation``."""
        return (
            self.choose_sandbox()
            .continue_to_sandbox()
            .sign_in()
            .choose(organisation)
            .approve_to(DefaultDone)
        )


class DefaultUpload(Upload):
    titles = titled(
        "Upload your accounts",
        fr="Envoyez votre comptabilité",
        de="Laden Sie Ihre Buchhaltung hoch",
    )


class AskSomeone(UatPage):
    """Who connects for the customer: their name, email and role."""

    titles = titled("Ask someone to connect for you")

    def ask(self, name: str, email: str, role: str = "My accountant") -> LinkForThem:
        self.main.get_by_label(self._("Their name"), exact=True).fill(name)
        self.main.get_by_label(self._("Their email address"), exact=True).fill(email)
        self.main.get_by_role("group", name=self._("Who are they?")).get_by_role(
            "radio", name=self._(role), exact=True
        ).check()
        self.button("Create their link").click()
        return LinkForThem(self.page, self.lang, name=name)

    def ask_expecting_problem(self) -> AskSomeone:
        self.button("Create their link").click()
        return self.expecting_problem()


class LinkForThem(UatPage):
    """The link for the person asked, to copy (and emailed where mail is set up)."""

    titles = titled("Your link for %(name)s")

    def __init__(self, page: Page | Frame, lang: str = "en", *, name: str = "") -> None:
        self.name = name
        super().__init__(page, lang)

    @property
    def title(self) -> str:
        return self._("Your link for %(name)s", name=self.name)

    @property
    def address(self) -> str:
        link = self.main.get_by_role("link", name=re.compile("journey.delegated."))
        href = link.get_attribute("href")
        assert href is not None
        return href

    def back_to_connecting(self) -> DefaultConnect:
        self.link("Back to connecting").click()
        return self.go(DefaultConnect)


class Delegated(UatPage):
    """What the person asked sees: who asked, for whom, what was agreed; then connect."""

    titles = titled("Connect %(customer)s's accounting software")

    def __init__(self, page: Page | Frame, lang: str = "en", *, customer: str = "") -> None:
        self.customer = customer
        super().__init__(page, lang)

    @property
    def title(self) -> str:
        return self._("Connect %(customer)s's accounting software", customer=self.customer)

    @property
    def agreed(self) -> Locator:
        return self.main.get_by_role(
            "region", name=self._("What %(customer)s agreed to share", customer=self.customer)
        )

    def continue_to_sandbox(self) -> SandboxSignIn:
        from e2e.pages.sandbox import SandboxSignIn

        self.button("Continue to %(platform)s", platform=SANDBOX).click()
        return SandboxSignIn(self.page, back=DefaultConnect, lang=self.lang)


class DelegatedDone(UatPage):
    titles = titled("Done — %(customer)s's accounting software is connected for %(business)s")

    def __init__(self, page: Page | Frame, lang: str = "en", *, customer: str = "") -> None:
        self.customer = customer
        super().__init__(page, lang)

    @property
    def title(self) -> str:
        return self._(
            "Done — %(customer)s's accounting software is connected for %(business)s",
            customer=self.customer,
            business=NORTHWIND,
        )


class LinkUsed(UatPage):
    titles = titled("This link has already been used")


class LinkCancelled(UatPage):
    titles = titled("This link has been cancelled")


class DefaultConnect(Connect):
    titles = titled(
        "Connect your accounting software",
        fr="Connectez votre logiciel de comptabilité",
        de="Verbinden Sie Ihre Buchhaltungssoftware",
    )


class DefaultDone(Done):
    titles = titled("You're connected", fr="Vous êtes connecté", de="Sie sind verbunden")


class DefaultSent(Done):
    """The last page for a customer who uploaded their accounts instead."""

    titles = titled(
        "Your accounts are sent",
        fr="Votre comptabilité est envoyée",
        de="Ihre Buchhaltung ist übermittelt",
    )


class Declined(GivesFeedback):
    titles = titled("You declined to share your accounting data")


class ExpiredLink(UatPage):
    titles = titled("This link has expired")


class InvalidLink(UatPage):
    titles = titled("This link isn't valid")


# journeys/business.yaml: Harbour Capital's loan application (English only).

HARBOUR_ACCOUNTS = "Your management accounts and bank transactions"


class ApplyWelcome(Welcome):
    titles = titled("Tell us about your business")


class ApplyConsent(Consent):
    titles = titled("What you agree to share")


class BusinessDetails(Form):
    titles = titled("About your business")


class ApplySoftware(Software):
    titles = titled("Choose your accounting software")


class CheckAnswers(Review):
    titles = titled("Check your answers")


class ApplyInstructions(Instructions):
    titles = titled("Before you connect")


class ConnectAccounts(Connect):
    titles = titled("Connect your accounts")


class ApplicationReceived(Done):
    titles = titled("Application received")


# journeys/reconnect.yaml: Northwind Lending asks for a fresh sign-in (English only).


class ReconnectWelcome(Welcome):
    titles = titled("Your accounting connection needs renewing")


class ReconnectSoftware(Software):
    titles = titled("Which software do you use?")


class SignInAgain(Connect):
    titles = titled("Sign in again")


class Reconnected(Done):
    titles = titled("You're reconnected")


# Save and finish later (any step under way).


class FinishLater(UatPage):
    """After "Save and finish later" where the business sends no email: the link to keep
    (with mail, the page says the link was emailed instead)."""

    titles = titled("Keep this link to finish later")

    @property
    def resume_link(self) -> Locator:
        """The link itself, shown as its address, to copy or bookmark."""
        return self.main.get_by_role("link").filter(has_text="/j/")

    @property
    def resume_url(self) -> str:
        return self.resume_link.inner_text().strip()

    def continue_now_to(self, to: type[PageT]) -> PageT:
        """Back to the step the customer was on."""
        self.link("Continue now").click()
        return self.go(to)

"""Page objects for the admin console, and signing a colleague in with a given role.

Like :mod:`e2e.pages`, each page object is scoped to the page's ``main`` landmark,
checks on creation that the browser is on that page (its level-1 heading), and
returns the next page object from each action that navigates. The console's
section navigation ("Admin sections") and the sign-out button live in the banner;
:class:`AdminScreen` reaches them for every signed-in page.

    overview = sign_in_as(page, live_server, "support")
    customer = overview.open_section("Customers", CustomersPage).search("Acme").open("Acme Ltd")
    customer = customer.add_note("Called them about the renewal.")
"""

from __future__ import annotations

import re
import uuid
from typing import TypeVar

from playwright.sync_api import Locator, Page, expect

from e2e.live import LiveServer
from e2e.pages import Screen
from tests.admin import PASSWORD

ROLES = ("admin", "editor", "support", "advisor", "viewer")

# The console's sections as the navigation names them, and the permission each needs
# (app/admin/*.py ``section(...)`` calls), in the navigation's order. A new section
# goes here and in SCREENS below.
SECTIONS: dict[str, str] = {
    "Overview": "read",
    "Customers": "read",
    "Consents": "read",
    "Funnel": "read",
    "Journeys": "settings.read",
    "Webhooks": "settings.read",
    "Users": "users.manage",
    "API keys": "api_keys.manage",
    "Audit log": "audit.read",
    "Go-live checklist": "settings.read",
    "Security evidence": "audit.read",
}

AdminScreenT = TypeVar("AdminScreenT", bound="AdminScreen")


def new_colleague(live_server: LiveServer, role: str, own_customers_only: bool = False) -> str:
    """An account with ``role`` in the live server's database; returns its (unique) email.

    ``own_customers_only``: the colleague sees only the customers assigned to them.
    """
    from app.admin.accounts import create_user
    from app.extensions import db

    with live_server.app.app_context():
        user, _ = create_user(
            f"{role}-{uuid.uuid4().hex[:12]}@example.com",
            role,
            PASSWORD,
            own_customers_only=own_customers_only,
        )
        db.session.commit()
        return user.email


def sign_in_as(page: Page, live_server: LiveServer, role: str) -> OverviewPage:
    """A new colleague with ``role``, signed in through the real sign-in form."""
    email = new_colleague(live_server, role)
    return SignInPage.open(page, live_server.url).sign_in(email)


class SignInPage(Screen):
    title = "Sign in to the admin console"

    @classmethod
    def open(cls, page: Page, base_url: str = "") -> SignInPage:
        page.goto(f"{base_url}/admin/login")
        return cls(page)

    @property
    def email(self) -> Locator:
        return self.main.get_by_label("Email address", exact=True)

    @property
    def password(self) -> Locator:
        return self.main.get_by_label("Password", exact=True)

    @property
    def sign_in_button(self) -> Locator:
        return self.main.get_by_role("button", name="Sign in", exact=True)

    def notice(self, text: str) -> Locator:
        """A message shown above the form (signed out, signed out after inactivity)."""
        return self.main.get_by_role("status").filter(has_text=text)

    def _submit(self, email: str, password: str) -> None:
        self.email.fill(email)
        self.password.fill(password)
        self.sign_in_button.click()

    def sign_in(self, email: str, password: str = PASSWORD) -> OverviewPage:
        self._submit(email, password)
        return OverviewPage(self.page)

    def sign_in_to(
        self, to: type[AdminScreenT], email: str, password: str = PASSWORD
    ) -> AdminScreenT:
        """Sign in, landing on the page that was asked for before signing in."""
        self._submit(email, password)
        return to(self.page)

    def sign_in_expecting_problem(self, email: str, password: str) -> SignInPage:
        self._submit(email, password)
        page = SignInPage(self.page)
        expect(page.error_summary).to_be_visible()
        return page


class AdminScreen(Screen):
    """A page of the console seen by a signed-in colleague: its navigation and sign-out."""

    def __init__(self, page: Page) -> None:
        super().__init__(page)
        expect(page).to_have_title(f"{self.page_title} · Onramp admin")

    @property
    def page_title(self) -> str:
        """The window title's first part; the heading unless a page says otherwise."""
        return self.title

    @property
    def nav(self) -> Locator:
        return self.page.get_by_role("banner").get_by_role("navigation", name="Admin sections")

    @property
    def nav_links(self) -> Locator:
        return self.nav.get_by_role("link")

    def nav_labels(self) -> list[str]:
        return [text.strip() for text in self.nav_links.all_inner_texts()]

    def nav_link(self, label: str) -> Locator:
        return self.nav.get_by_role("link", name=label, exact=True)

    def open_section(self, label: str, to: type[AdminScreenT]) -> AdminScreenT:
        self.nav_link(label).click()
        screen = to(self.page)
        expect(screen.nav_link(label)).to_have_attribute("aria-current", "page")
        return screen

    @property
    def signed_in_as(self) -> Locator:
        """ "email (role)" beside the sign-out button."""
        return self.page.get_by_role("banner").get_by_text(re.compile(r"^\S+@\S+ \(\w+\)$"))

    def signed_in_email(self) -> str:
        return self.signed_in_as.inner_text().rpartition(" (")[0]

    def sign_out(self) -> SignInPage:
        self.page.get_by_role("banner").get_by_role("button", name="Sign out").click()
        return SignInPage(self.page)

    def notice(self, text: str) -> Locator:
        """A flash message at the top of the page."""
        return self.main.get_by_role("status").filter(has_text=text)

    def table(self, name: str) -> Locator:
        """A table by its caption (visible or not)."""
        return self.main.get_by_role("table", name=name)


class OverviewPage(AdminScreen):
    title = "Overview"

    @property
    def role_line(self) -> Locator:
        return self.main.get_by_text(re.compile(r"^Signed in as \S+, with the \w+ role\.$"))

    @property
    def health(self) -> Locator:
        return self.main.get_by_role("region", name="Health")

    @property
    def customer_figures(self) -> Locator:
        """Where customers stand: each number links to the customers it counts."""
        return self.main.get_by_role("region", name="Customers", exact=True)

    def figure(self, label: str) -> Locator:
        """The link a figure's number is (its name: the number and the label)."""
        return self.main.get_by_role("row", name=label).get_by_role("link")


class CustomersPage(AdminScreen):
    title = "Customers"

    @property
    def results(self) -> Locator:
        return self.main.get_by_role("region", name="Customers found")

    def search(self, text: str) -> CustomersPage:
        self.main.get_by_role("searchbox", name="Name, email or external id").fill(text)
        self.main.get_by_role("button", name="Search", exact=True).click()
        page = CustomersPage(self.page)
        expect(page.results.get_by_role("caption")).to_contain_text(f"matching “{text}”")
        return page

    def open(self, name: str) -> CustomerPage:
        self.results.get_by_role("link", name=name, exact=True).click()
        return CustomerPage(self.page, name)

    def show_assigned_to(self, choice: str) -> CustomersPage:
        """Filter by "Assigned to": "Anyone", "Me" or "Nobody"."""
        self.main.get_by_label("Assigned to", exact=True).select_option(label=choice)
        self.main.get_by_role("button", name="Search", exact=True).click()
        return CustomersPage(self.page)

    def result_names(self) -> list[str]:
        return self.results.get_by_role("link").all_inner_texts()

    def add_customer(self) -> NewCustomerPage:
        self.main.get_by_role("link", name="Add a customer", exact=True).click()
        return NewCustomerPage(self.page)


class NewCustomerPage(AdminScreen):
    title = "Add a customer"

    @property
    def page_title(self) -> str:
        return "Add a customer · Customers"

    def add(
        self, name: str, email: str, external_id: str = "", journey: str | None = None
    ) -> CustomerPage:
        self.main.get_by_label("Business name", exact=True).fill(name)
        self.main.get_by_label("Email address", exact=True).fill(email)
        self.main.get_by_label("External id (optional)", exact=True).fill(external_id)
        if journey is not None:
            self.main.get_by_label("Journey", exact=True).select_option(label=journey)
        self.main.get_by_role("button", name="Add customer and create link").click()
        page = CustomerPage(self.page, name)
        expect(page.new_link).to_be_visible()
        return page


class CustomerPage(AdminScreen):
    """One customer's page; its heading is the customer's name."""

    title = ""

    def __init__(self, page: Page, name: str) -> None:
        self.title = name
        super().__init__(page)

    @property
    def page_title(self) -> str:
        return f"{self.title} · Customers"

    @property
    def connections(self) -> Locator:
        return self.main.get_by_role("region", name="Connections")

    def connection_row(self, platform: str) -> Locator:
        return self.connections.get_by_role("row").filter(
            has=self.page.get_by_role("cell", name=platform, exact=True)
        )

    @property
    def summary(self) -> Locator:
        """The customer at a glance: journeys, connections, consents, the next action."""
        return self.main.get_by_role("region", name="At a glance", exact=True)

    @property
    def timeline(self) -> Locator:
        """Everything that happened to the customer, a section per journey run."""
        return self.main.get_by_role("region", name="Timeline", exact=True)

    @property
    def timeline_entries(self) -> Locator:
        """The entries shown (those folded into technical details once opened)."""
        return self.timeline.get_by_role("listitem")

    def show_technical_details(self) -> None:
        """Open every folded "Technical details" group of the timeline."""
        summaries = self.timeline.get_by_text(re.compile(r"^Technical details \(\d+\)$"))
        for index in range(summaries.count()):
            summaries.nth(index).click()

    # What a colleague allowed to act on customers (support, admin) sees.

    @property
    def send_link_section(self) -> Locator:
        return self.main.get_by_role("region", name="Send a new link")

    @property
    def note_section(self) -> Locator:
        return self.main.get_by_role("region", name="Add an internal note")

    @property
    def create_link_button(self) -> Locator:
        return self.main.get_by_role("button", name="Create link", exact=True)

    @property
    def add_note_button(self) -> Locator:
        return self.main.get_by_role("button", name="Add note", exact=True)

    def disconnect_button(self, platform: str) -> Locator:
        return self.main.get_by_role("link", name=f"Disconnect {platform}", exact=True)

    def reconnect_button(self, platform: str) -> Locator:
        return self.main.get_by_role(
            "button", name=f"Create reconnect link for {platform}", exact=True
        )

    @property
    def action_buttons(self) -> Locator:
        """Every button and link in ``main`` that changes something for the customer."""
        return self.main.get_by_role(
            "button", name=re.compile(r"^(Create link|Add note|Create reconnect link)")
        ).or_(self.main.get_by_role("link", name=re.compile(r"^Disconnect\b")))

    def create_link(self, journey: str | None = None) -> CustomerPage:
        if journey is not None:
            self.send_link_section.get_by_label("Journey", exact=True).select_option(label=journey)
        self.create_link_button.click()
        page = CustomerPage(self.page, self.title)
        expect(page.new_link).to_be_visible()
        return page

    @property
    def new_link(self) -> Locator:
        """The link just created, shown once in a read-only field."""
        return self.main.get_by_role("textbox", name=f"Link for {self.title}", exact=True)

    @property
    def assignee(self) -> Locator:
        """The "Assigned to" menu (for those who may assign)."""
        return self.main.get_by_label("Assigned to", exact=True)

    def assign_to(self, label: str) -> CustomerPage:
        self.assignee.select_option(label=label)
        self.main.get_by_role("button", name="Save assignment", exact=True).click()
        page = CustomerPage(self.page, self.title)
        expect(page.notice(f"Assigned to {label}.")).to_be_visible()
        return page

    def add_note(self, text: str) -> CustomerPage:
        self.note_section.get_by_label("Internal note", exact=True).fill(text)
        self.add_note_button.click()
        page = CustomerPage(self.page, self.title)
        expect(page.notice("Note added.")).to_be_visible()
        return page

    def add_note_expecting_problem(self, text: str) -> CustomerPage:
        self.note_section.get_by_label("Internal note", exact=True).fill(text)
        self.add_note_button.click()
        page = CustomerPage(self.page, self.title)
        expect(page.error_summary).to_be_visible()
        return page


class ConsentsPage(AdminScreen):
    title = "Consents"

    @property
    def records(self) -> Locator:
        return self.main.get_by_role("region", name="Consent records")

    def filter(self, **fields: str) -> ConsentsPage:
        """Fill filter fields by label (``Decision="granted"``) and apply them."""
        for label, value in fields.items():
            field = self.main.get_by_label(label.replace("_", " "), exact=True)
            if field.evaluate("el => el.tagName") == "SELECT":
                field.select_option(value)
            else:
                field.fill(value)
        self.main.get_by_role("button", name="Filter", exact=True).click()
        return ConsentsPage(self.page)

    def rows_for(self, customer: str) -> Locator:
        return self.records.get_by_role("row").filter(
            has=self.page.get_by_role("link", name=customer, exact=True)
        )


class FunnelPage(AdminScreen):
    title = "Funnel"

    @property
    def steps(self) -> Locator:
        return self.main.get_by_role("table", name="Runs that reached and completed each step")

    @property
    def chart(self) -> Locator:
        return self.main.get_by_role("region", name="Funnel chart")

    @property
    def versions(self) -> Locator:
        return self.main.get_by_role("table", name=re.compile(r"^Sessions opened, completions"))

    def show(self, journey: str | None = None) -> FunnelPage:
        if journey is not None:
            self.main.get_by_label("Journey", exact=True).select_option(label=journey)
        self.main.get_by_role("button", name="Show the funnel").click()
        return FunnelPage(self.page)

    def show_version(self, version: str) -> FunnelPage:
        """Follow a row of the versions table (``version``: its first 12 characters)."""
        self.versions.get_by_role("link", name=f"Funnel of version {version}").click()
        return FunnelPage(self.page)


class JourneysPage(AdminScreen):
    title = "Journeys"

    @property
    def journeys(self) -> Locator:
        return self.main.get_by_role("region", name="Current journeys")

    @property
    def new_draft_link(self) -> Locator:
        """Only for colleagues who may edit journeys (editors, admins)."""
        return self.main.get_by_role("link", name="New journey draft", exact=True)


class GoLivePage(AdminScreen):
    title = "Go-live checklist"

    @property
    def summary(self) -> Locator:
        return self.main.get_by_role("status")

    def check(self, title: str) -> Locator:
        return self.main.get_by_role("heading", level=2, name=re.compile(re.escape(title)))


class SecurityEvidencePage(AdminScreen):
    title = "Security evidence pack"

    @property
    def page_title(self) -> str:
        return "Security evidence"

    @property
    def download_json(self) -> Locator:
        return self.main.get_by_role("link", name="Download JSON", exact=True)

    def section(self, title: str) -> Locator:
        return self.main.get_by_role("region", name=title, exact=True)


class WebhooksPage(AdminScreen):
    title = "Webhooks"

    @property
    def endpoints(self) -> Locator:
        return self.table("Webhook endpoints")

    @property
    def deliveries(self) -> Locator:
        return self.table("Webhook deliveries, newest first")

    def send_test_button(self, url: str) -> Locator:
        return self.main.get_by_role("button", name=f"Send a test event to {url}", exact=True)

    def send_test(self, url: str) -> WebhooksPage:
        self.send_test_button(url).click()
        return WebhooksPage(self.page)

    @property
    def manage_buttons(self) -> Locator:
        """The buttons that change endpoints or deliveries (admins only)."""
        return self.main.get_by_role(
            "button", name=re.compile(r"^(Send a test event|Disable|Enable|Replay)\b")
        )


class AuditLogPage(AdminScreen):
    title = "Audit log"

    @property
    def entries(self) -> Locator:
        return self.main.get_by_role("region", name="Audit entries")

    def filter(self, **fields: str) -> AuditLogPage:
        """Fill filter fields by label (``Actor="support-…"``) and apply them."""
        for label, value in fields.items():
            self.main.get_by_label(label.replace("_", " "), exact=True).fill(value)
        self.main.get_by_role("button", name="Filter", exact=True).click()
        return AuditLogPage(self.page)

    def entry(self, action: str, actor: str) -> Locator:
        """The rows recording ``action`` by ``actor`` (an email or API key prefix)."""
        return (
            self.entries.get_by_role("row")
            .filter(has=self.page.get_by_role("cell", name=action, exact=True))
            .filter(has=self.page.get_by_role("cell", name=re.compile(rf"^{re.escape(actor)}\b")))
        )


class UsersPage(AdminScreen):
    title = "Users"

    @property
    def accounts(self) -> Locator:
        return self.table("Admin console accounts")

    def row(self, email: str) -> Locator:
        return self.accounts.get_by_role("row").filter(
            has=self.page.get_by_role("cell", name=email, exact=True)
        )

    def add_colleague(self, email: str, role_label: str) -> UsersPage:
        # The "Add a colleague" form; each row's role menu is labelled "Role of <email>".
        self.main.get_by_label("Email address", exact=True).fill(email)
        self.main.get_by_label("Role", exact=True).select_option(label=role_label)
        self.main.get_by_role("button", name="Create account", exact=True).click()
        page = UsersPage(self.page)
        expect(page.created).to_be_visible()
        return page

    @property
    def created(self) -> Locator:
        return self.main.get_by_role("status").filter(has_text="Account created for")

    def own_customers_only(self, email: str) -> Locator:
        """The row's "sees only their own customers" checkbox."""
        return self.main.get_by_role(
            "checkbox", name=f"Only their own customers, for {email}", exact=True
        )

    def limit_to_own_customers(self, email: str) -> UsersPage:
        self.own_customers_only(email).check()
        self.main.get_by_role("button", name=f"Save customers seen by {email}", exact=True).click()
        page = UsersPage(self.page)
        expect(page.notice(f"{email} now sees only their own customers.")).to_be_visible()
        return page


class ApiKeysPage(AdminScreen):
    title = "API keys"

    @property
    def keys(self) -> Locator:
        return self.table("API keys")


class ForbiddenPage(Screen):
    """What a colleague sees when their role may not open a page."""

    title = "You can't open this page"

    @classmethod
    def open(cls, page: Page, url: str) -> ForbiddenPage:
        """Go to ``url`` by its address, expecting to be refused."""
        response = page.goto(url)
        status = response.status if response is not None else None
        assert status == 403, f"{url} answered {status}, not 403"
        return cls(page)


# The screens reachable from the navigation, by their label.
SCREENS: dict[str, type[AdminScreen]] = {
    "Overview": OverviewPage,
    "Customers": CustomersPage,
    "Consents": ConsentsPage,
    "Funnel": FunnelPage,
    "Journeys": JourneysPage,
    "Webhooks": WebhooksPage,
    "Users": UsersPage,
    "API keys": ApiKeysPage,
    "Audit log": AuditLogPage,
    "Go-live checklist": GoLivePage,
    "Security evidence": SecurityEvidencePage,
}


def sections_for(role: str) -> list[str]:
    """The navigation a colleague with ``role`` should see, in order."""
    from app.admin.accounts import PERMISSIONS

    return [label for label, permission in SECTIONS.items() if permission in PERMISSIONS[role]]

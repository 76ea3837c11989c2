"""Send, don't copy: a support colleague emails a journey link from the customer's page,
the customer opens it from the email, and the Links section says it was opened; revoked,
the same link then shows the customer a page saying it was withdrawn.

The worker's mail pass runs in-process (no worker runs beside the live server) and sends
to a local SMTP sink."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from playwright.sync_api import BrowserContext, Locator, Page, expect

from app import mail
from e2e.accessibility import assert_accessible, assert_no_horizontal_scroll
from e2e.admin import CustomerPage, sign_in_as
from e2e.live import LiveServer
from e2e.pages import Screen
from tests.mail_sink import Sink

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
JOURNEY = "Apply for a Harbour Capital business loan"


class LinksOnCustomerPage(CustomerPage):
    """The customer's page, as it offers to email a link and lists the links made."""

    @property
    def links(self) -> Locator:
        return self.main.get_by_role("region", name="Links", exact=True)

    def link_row(self, journey: str) -> Locator:
        return self.links.get_by_role("row").filter(has_text=journey)

    def email_it(self, journey: str, address: str) -> LinksOnCustomerPage:
        journey_choice = self.send_link_section.get_by_label("Journey", exact=True)
        journey_choice.select_option(label=f"{journey} (business)")
        expect(self.send_link_section.get_by_label(f"Email it to {address}")).to_be_checked()
        self.create_link_button.click()
        page = LinksOnCustomerPage(self.page, self.title)
        expect(page.notice(f"Link emailed to {address}.")).to_be_visible()
        return page

    def revoke(self, journey: str) -> LinksOnCustomerPage:
        self.link_row(journey).get_by_role("button", name=re.compile(r"^Revoke ")).click()
        page = LinksOnCustomerPage(self.page, self.title)
        expect(page.notice("The link is revoked")).to_be_visible()
        return page


class WithdrawnPage(Screen):
    title = "This link was withdrawn"


def _customer(live_server: LiveServer) -> tuple[str, str, str]:
    from app.customers.records import create_customer

    suffix = uuid.uuid4().hex[:8]
    name, email = f"Acme Trading {suffix}", f"owner-{suffix}@acme.example"
    with live_server.app.app_context():
        return name, email, create_customer(name, email).public_id


def _send_mail(live_server: LiveServer) -> None:
    with live_server.app.app_context():
        mail.send_due()


def _link_in_email(sink: Sink, address: str) -> str:
    [message] = sink.to(address)
    body = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    found = re.search(r"https?://\S+/j/\S+", body)
    assert found is not None, body
    return found.group(0)


def _check_accessible(page: Page) -> None:
    for viewport in (DESKTOP, PHONE):
        page.set_viewport_size(viewport)
        assert_accessible(page)
        assert_no_horizontal_scroll(page)


def test_a_colleague_emails_a_link_the_customer_opens_it_and_a_revoked_link_is_withdrawn(
    page: Page,
    new_context: Callable[..., BrowserContext],
    live_server: LiveServer,
    sink: Sink,
) -> None:
    name, email, public_id = _customer(live_server)
    sign_in_as(page, live_server, "support")
    page.goto(f"{live_server.url}/admin/customers/{public_id}")
    colleague = LinksOnCustomerPage(page, name).email_it(JOURNEY, email)
    expect(colleague.link_row(JOURNEY)).to_contain_text(email)
    expect(colleague.link_row(JOURNEY)).to_contain_text("sending")

    _send_mail(live_server)
    link = _link_in_email(sink, email)
    customer = new_context().new_page()
    customer.goto(link)
    expect(customer.get_by_role("main").get_by_role("heading", level=1)).not_to_have_text(
        WithdrawnPage.title
    )
    expect(customer).to_have_title(re.compile(r"Harbour Capital$"))

    page.reload()  # reached by a redirect: reloading sends nothing again
    colleague = LinksOnCustomerPage(page, name)
    expect(colleague.links.get_by_role("row")).to_have_count(2)  # the header and the link
    expect(colleague.link_row(JOURNEY)).to_contain_text("opened")
    opened = colleague.timeline_entries.filter(has_text=f"Link to the '{JOURNEY}' journey opened")
    expect(opened).to_have_count(1)
    _check_accessible(page)

    page.set_viewport_size(DESKTOP)
    colleague = colleague.revoke(JOURNEY)
    expect(colleague.link_row(JOURNEY)).to_contain_text("revoked")

    customer.goto(link)
    withdrawn = WithdrawnPage(customer)
    expect(withdrawn.main).to_contain_text("Harbour Capital withdrew this link")
    expect(withdrawn.main.get_by_role("link", name="help@harbour-capital.example")).to_be_visible()
    _check_accessible(customer)

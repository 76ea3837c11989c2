"""The customer's own page: after connecting through the Sandbox, the customer opens
"Your connections and consents", withdraws a consent in two clicks, and the business's
webhook receiver is told, with a signed ``consent.withdrawn`` event."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import select

from app.extensions import db
from app.models import Customer, OutboxEvent, WebhookDelivery, WebhookEndpoint
from app.sandbox.data import ORGANISATIONS
from e2e.accessibility import assert_accessible, assert_no_horizontal_scroll
from e2e.live import JourneyLink, LiveServer
from e2e.pages import FINANCIAL_STATEMENTS, SANDBOX, ConnectPage, DonePage, Screen
from tests.integration.webhook_receiver import Receiver

PHONE = {"width": 390, "height": 844}
# WCAG 1.4.10 Reflow: content fits 320 CSS pixels without scrolling sideways.
NARROW = {"width": 320, "height": 640}
DESKTOP = {"width": 1280, "height": 900}


class AccountPage(Screen):
    title = "Your connections and consents"

    @property
    def status(self) -> Locator:
        return self.main.get_by_role("status")

    def consent(self, category: str) -> Locator:
        """One consent as it stands: its heading names it."""
        return self.main.get_by_role("listitem").filter(
            has=self.page.get_by_role("heading", name=category)
        )

    def connection(self, platform: str) -> Locator:
        return self.main.get_by_role("listitem").filter(
            has=self.page.get_by_role("heading", name=platform)
        )

    def withdraw(self, category: str) -> WithdrawPage:
        self.main.get_by_role("link", name=f"Withdraw {category}", exact=True).click()
        return WithdrawPage(self.page)


class WithdrawPage(Screen):
    title = "Withdraw your consent?"

    def confirm(self) -> AccountPage:
        self.main.get_by_role("button", name="Withdraw consent").click()
        return AccountPage(self.page)


@dataclass(frozen=True)
class Business:
    """The business's webhook receiver, registered with the live server."""

    receiver: Receiver
    endpoint_id: int
    secret: str


@pytest.fixture
def business(live_server: LiveServer) -> Iterator[Business]:
    from app.webhooks import endpoints

    receiver = Receiver()
    with live_server.app.app_context():
        endpoint, secret = endpoints.add_endpoint(
            receiver.url, ["consent.withdrawn"], "E2E customer page"
        )
        db.session.commit()
        endpoint_id = endpoint.id
    try:
        yield Business(receiver, endpoint_id, secret)
    finally:
        with live_server.app.app_context():
            found = db.session.get(WebhookEndpoint, endpoint_id)
            if found is not None:
                endpoints.remove_endpoint(found)
                db.session.commit()
        receiver.close()


def _deliver(live_server: LiveServer, business: Business, customer_public_id: str) -> int:
    """Send this customer's events to the business, as the worker would (it does not run
    in the live server)."""
    from app.webhooks import delivery

    with live_server.app.app_context():
        ids = db.session.scalars(
            select(WebhookDelivery.id)
            .join(OutboxEvent)
            .join(Customer, OutboxEvent.customer_id == Customer.id)
            .where(
                Customer.public_id == customer_public_id,
                WebhookDelivery.endpoint_id == business.endpoint_id,
            )
        ).all()
        for delivery_id in ids:
            assert delivery.claim(delivery_id, "e2e")
            assert delivery.deliver(delivery_id, "e2e").result == "succeeded"
    return len(ids)


def _connected(at_connect: ConnectPage) -> DonePage:
    return at_connect.continue_to_sandbox().sign_in().choose(ORGANISATIONS[0].name).approve()


def test_the_customer_withdraws_a_consent_in_two_clicks_and_the_business_is_told(
    at_connect: ConnectPage,
    page: Page,
    journey_link: JourneyLink,
    live_server: LiveServer,
    business: Business,
) -> None:
    done = _connected(at_connect)
    done.main.get_by_role("link", name="Your connections and consents").click()
    account = AccountPage(page)
    expect(page).to_have_title("Your connections and consents")
    expect(account.consent(FINANCIAL_STATEMENTS)).to_contain_text("Granted")
    expect(account.consent(FINANCIAL_STATEMENTS)).to_contain_text("Northwind Lending")
    expect(account.connection(SANDBOX)).to_contain_text(ORGANISATIONS[0].name)
    expect(account.connection(SANDBOX)).to_contain_text("Connected")

    confirming = account.withdraw(FINANCIAL_STATEMENTS)  # click 1
    expect(confirming.main).to_contain_text(f"Your connection to {SANDBOX} will be disconnected")
    account = confirming.confirm()  # click 2

    expect(account.status).to_contain_text(f"You withdrew your consent: {FINANCIAL_STATEMENTS}.")
    expect(account.status).to_contain_text(f"Your {SANDBOX} connection was disconnected.")
    expect(account.consent(FINANCIAL_STATEMENTS)).to_contain_text("Withdrawn")
    expect(account.connection(SANDBOX)).to_contain_text("Disconnected")

    assert _deliver(live_server, business, journey_link.customer_public_id) == 1
    assert business.receiver.wait_for(1, timeout=10)
    [received] = business.receiver.requests
    payload = received.verify(business.secret)
    assert payload["type"] == "consent.withdrawn"
    [withdrawn] = [
        r
        for r in live_server.consent_records(journey_link.customer_public_id)
        if r.decision == "withdrawn"
    ]
    assert payload["data"]["consent_id"] == withdrawn.public_id
    assert [c.status for c in live_server.connections(journey_link.customer_public_id)] == [
        "disconnected"
    ]


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE, NARROW], ids=["desktop", "phone", "narrow"])
def test_the_customer_page_and_its_confirmation_are_accessible(
    at_connect: ConnectPage, page: Page, viewport: dict[str, int]
) -> None:
    page.set_viewport_size(viewport)
    done = _connected(at_connect)
    done.main.get_by_role("link", name="Your connections and consents").click()
    account = AccountPage(page)
    assert_accessible(page)
    assert_no_horizontal_scroll(page)

    confirming = account.withdraw(FINANCIAL_STATEMENTS)
    assert_accessible(page)
    assert_no_horizontal_scroll(page)

    account = confirming.confirm()
    expect(account.status).to_be_visible()
    assert_accessible(page)

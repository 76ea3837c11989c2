"""Repairing a broken connection in a browser: the customer connects through the Sandbox,
revokes Onramp's access on the Sandbox's Connected apps page, the worker's next pass finds
the connection broken (run in-process: no worker runs beside the live server) and emails
the repair link; the customer reconnects from their page or from that email, and the
same connection id is linked again."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import Locator, Page, expect
from sqlalchemy import select, update

from app import clock, mail
from app.connections import lifecycle, repair
from app.extensions import db
from app.models import Connection, Customer
from app.sandbox.data import ORGANISATIONS
from e2e.live import JourneyLink, LiveServer
from e2e.pages import SANDBOX, ConnectPage, SandboxConsentPage, SandboxSignInPage, Screen
from e2e.pages.sandbox import ConnectedApps
from tests.mail_sink import Sink

ORGANISATION = ORGANISATIONS[0].name


class AccountPage(Screen):
    title = "Your connections and consents"

    def connection(self, platform: str) -> Locator:
        return self.main.get_by_role("listitem").filter(
            has=self.page.get_by_role("heading", name=platform)
        )

    def reconnect(self, platform: str, organisation: str) -> None:
        self.main.get_by_role("button", name=f"Reconnect {platform} ({organisation})").click()


class ReconnectedPage(Screen):
    title = "You're reconnected"


def _worker_finds_it_broken(live_server: LiveServer, customer_public_id: str) -> Connection:
    """The worker's pass: the refresh is refused (access was revoked), the customer is
    sent a repair email."""
    with live_server.app.app_context():
        customer = db.session.scalars(
            select(Customer).where(Customer.public_id == customer_public_id)
        ).one()
        # Its access token is due: the next pass refreshes it.
        db.session.execute(
            update(Connection)
            .where(Connection.customer_id == customer.id)
            .values(token_expires_at=clock.now() + timedelta(seconds=30))
        )
        db.session.commit()
        assert lifecycle.refresh_due()["deauthorized"] == 1
        assert repair.send_due_reminders() == 1
        mail.send_due()
        connection = db.session.scalars(
            select(Connection).where(Connection.customer_id == customer.id)
        ).one()
        db.session.expunge(connection)
    assert (connection.status, connection.last_error) == ("deauthorized", "refresh_refused")
    return connection


def _approve_at_the_sandbox(page: Page) -> ReconnectedPage:
    """Straight to the Sandbox: signed in there still, or asked to sign in again."""
    heading = page.get_by_role("main").get_by_role("heading", level=1)
    either = f"^({re.escape(SandboxSignInPage.title)}|{re.escape(SandboxConsentPage.title)})$"
    expect(heading).to_have_text(re.compile(either))
    consent = (
        SandboxSignInPage(page).sign_in()
        if heading.text_content() == SandboxSignInPage.title
        else SandboxConsentPage(page)
    )
    consent.choose(ORGANISATION).main.get_by_role("button", name="Approve").click()
    return ReconnectedPage(page)


def _broken(at_connect: ConnectPage, page: Page) -> None:
    at_connect.continue_to_sandbox().sign_in().choose(ORGANISATION).approve()
    ConnectedApps.open(page).revoke(ORGANISATION)


def test_the_customer_reconnects_from_their_page_and_keeps_the_same_connection(
    at_connect: ConnectPage,
    page: Page,
    journey_link: JourneyLink,
    live_server: LiveServer,
    sink: Sink,
) -> None:
    _broken(at_connect, page)
    broken = _worker_finds_it_broken(live_server, journey_link.customer_public_id)

    page.goto("/my")
    account = AccountPage(page)
    expect(account.connection(SANDBOX)).to_contain_text(
        "Needs reconnecting: your accounting software stopped accepting our access"
    )
    expect(account.connection(SANDBOX)).to_contain_text(ORGANISATION)
    account.reconnect(SANDBOX, ORGANISATION)
    _approve_at_the_sandbox(page)

    [repaired] = live_server.connections(journey_link.customer_public_id)
    assert (repaired.public_id, repaired.status) == (broken.public_id, "linked")
    page.goto("/my")
    expect(AccountPage(page).connection(SANDBOX)).to_contain_text("Connected")


def test_the_customer_reconnects_from_the_email_and_keeps_the_same_connection(
    at_connect: ConnectPage,
    page: Page,
    journey_link: JourneyLink,
    live_server: LiveServer,
    sink: Sink,
) -> None:
    _broken(at_connect, page)
    broken = _worker_finds_it_broken(live_server, journey_link.customer_public_id)
    [email] = [m for m in sink.messages if "needs reconnecting" in str(m["Subject"])]
    text = str(email.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    [link] = [word for word in text.split() if "/connect/repair/" in word]

    page.goto(link)
    _approve_at_the_sandbox(page)

    [repaired] = live_server.connections(journey_link.customer_public_id)
    assert (repaired.public_id, repaired.status) == (broken.public_id, "linked")

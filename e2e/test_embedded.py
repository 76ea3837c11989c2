"""The journey on the business's own site, in Chromium: embedded in a frame on another
site (its provider sign-in in a popup window), and hosted with a way back.

The business's page is docs/examples/host-page.html, served on http://localhost:<port>;
Onramp is on http://127.0.0.1:<port>. Chromium here blocks third-party cookies, so the
frame keeps its journey only through its partitioned session cookie.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Frame, Page, expect

from app.sandbox.data import ORGANISATIONS
from e2e.accessibility import assert_accessible
from e2e.conftest import EmbeddingSite
from e2e.pages import (
    SANDBOX,
    ConnectPage,
    DonePage,
    HostPage,
    SandboxSignInPage,
    WelcomePage,
)

pytestmark = pytest.mark.usefixtures("embedding_site")

# The frame moves on when its own status checks (once a second, and when the window
# says it is done) see the connection linked; on a busy machine, with tests side by
# side, that can take longer than expect's 5 s.
FRAME_MOVES_ON_MS = 15_000


def _journey_frame(page: Page) -> Frame:
    frame = page.get_by_title("Connect your accounting software").element_handle().content_frame()
    assert frame is not None
    return frame


def _approve_in(popup: Page) -> None:
    """Sign in at the Sandbox and approve; the window then closes itself."""
    consent = SandboxSignInPage(popup).sign_in().choose(ORGANISATIONS[0].name)
    with popup.expect_event("close"):
        consent.main.get_by_role("button", name="Approve").click()


def test_the_embedded_journey_tells_the_host_page_everything(
    page: Page, embedding_site: EmbeddingSite
) -> None:
    link = embedding_site.link()
    host = HostPage.open(page, embedding_site.page(embedded=link.url))
    assert_accessible(page)
    journey = host.open_embedded()
    expect(journey.heading).to_have_text(WelcomePage.title)
    expect(host.event("ready")).to_have_count(1)
    assert_accessible(_journey_frame(page))

    journey.to_connect()
    assert_accessible(_journey_frame(page))
    popup = journey.open_provider()
    expect(journey.main.get_by_role("status")).to_contain_text(f"Finish in the {SANDBOX} window")
    _approve_in(popup)

    expect(journey.heading).to_have_text(DonePage.title, timeout=FRAME_MOVES_ON_MS)
    expect(journey.main.get_by_role("status").first).to_contain_text("Connected to")
    expect(host.event("finished")).to_have_count(1)
    assert_accessible(_journey_frame(page))

    events = host.events()
    types = [type_ for type_, _ in events]
    assert types == [
        "ready",
        "step_changed",
        "step_changed",
        "consent",
        "step_changed",
        "step_changed",
        "connection",
        "step_changed",
        "finished",
    ]
    steps = [detail["step"] for type_, detail in events if type_ == "step_changed"]
    assert steps == ["welcome", "consent", "software", "connect", "done"]
    assert dict(events)["consent"] == {
        "decision": "granted",
        "granted": ["financial_statements", "invoices_bills"],
    }
    [connection] = embedding_site.onramp.connections(link.customer_public_id)
    assert dict(events)["connection"] == {
        "status": "linked",
        "platform": "sandbox",
        "connection_id": connection.public_id,
    }
    assert dict(events)["finished"] == {
        "outcome": "linked",
        "customer_id": link.customer_public_id,
        "connection_id": connection.public_id,
    }
    # The journey's own "return" button asks the host page to close the frame.
    journey.main.get_by_role("button", name="Return to Northwind Lending").click()
    expect(host.event("closed")).to_have_count(1)
    expect(page.get_by_title("Connect your accounting software")).to_have_count(0)


def test_closing_the_provider_window_is_reported_and_connecting_can_be_retried(
    page: Page, embedding_site: EmbeddingSite
) -> None:
    link = embedding_site.link()
    host = HostPage.open(page, embedding_site.page(embedded=link.url))
    journey = host.open_embedded().to_connect()
    popup = journey.open_provider()
    SandboxSignInPage(popup)
    popup.close()

    expect(host.event("closed")).to_have_count(1)
    assert ("closed", {"reason": "provider_window"}) in host.events()
    expect(journey.alert).to_contain_text(f"The {SANDBOX} window was closed")
    expect(journey.alert).to_contain_text("nothing was connected")

    retry = journey.open_provider("Try again")
    _approve_in(retry)
    expect(journey.heading).to_have_text(DonePage.title, timeout=FRAME_MOVES_ON_MS)
    expect(host.event("finished")).to_have_count(1)
    statuses = [detail["status"] for type_, detail in host.events() if type_ == "connection"]
    # The abandoned attempt is reported as failed, then the one that worked.
    assert statuses == ["failed", "linked"]


def test_a_hosted_journey_returns_to_the_business_with_the_outcome(
    page: Page, embedding_site: EmbeddingSite
) -> None:
    back_to = embedding_site.page()
    link = embedding_site.link(return_url=back_to)
    host = HostPage.open(page, embedding_site.page(hosted=link.url))
    welcome = host.connect_hosted()
    connect: ConnectPage = welcome.get_started().agree().choose(SANDBOX)
    done = connect.continue_to_sandbox().sign_in().choose(ORGANISATIONS[0].name).approve()
    done.main.get_by_role("link", name="Return to Northwind Lending").click()

    back = HostPage(page)
    expect(back.returned).to_contain_text("Welcome back. Outcome: linked")
    query = parse_qs(urlsplit(page.url).query)
    [connection] = embedding_site.onramp.connections(link.customer_public_id)
    assert query["customer_id"] == [link.customer_public_id]
    assert query["connection_id"] == [connection.public_id]

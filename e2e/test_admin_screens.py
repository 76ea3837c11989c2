"""The console's screens show what customers did, and stay accessible on a desktop and a phone."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from e2e.accessibility import assert_accessible, assert_no_horizontal_scroll
from e2e.admin import (
    PASSWORD,
    SCREENS,
    AdminScreen,
    ConsentsPage,
    CustomerPage,
    CustomersPage,
    FunnelPage,
    GoLivePage,
    OverviewPage,
    SecurityEvidencePage,
    SignInPage,
    WebhooksPage,
    new_colleague,
)
from e2e.conftest import AdminSeed
from e2e.live import LiveServer
from e2e.pages import SANDBOX

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def _admin_page(
    new_context: Callable[..., BrowserContext],
    admin_sessions: Callable[[str], dict[str, Any]],
    **options: Any,
) -> Page:
    return new_context(storage_state=admin_sessions("admin"), **options).new_page()


def test_the_screens_show_a_customer_who_connected(
    new_context: Callable[..., BrowserContext],
    admin_sessions: Callable[[str], dict[str, Any]],
    live_server: LiveServer,
    admin_seed: AdminSeed,
) -> None:
    page = _admin_page(new_context, admin_sessions)
    page.goto(f"{live_server.url}/admin/")
    overview = OverviewPage(page)
    expect(overview.health).to_contain_text("Database: reachable")

    customers = overview.open_section("Customers", CustomersPage).search(admin_seed.external_id)
    expect(customers.results.get_by_role("row")).to_have_count(2)  # the header and the customer
    customer = customers.open(admin_seed.customer_name)
    expect(customer.connection_row(SANDBOX)).to_contain_text(admin_seed.organisation)
    customer.show_technical_details()
    for event in (
        "Started “Share your accounts for your loan application”",
        "Consent granted: Profit and loss, balance sheet and cash flow",
        "Consent granted: Invoices, bills and the people you trade with",
        "Consent declined: Monthly updates of the same records while your loan is open",
        f"Connected to {SANDBOX}",
        "Completed “Share your accounts for your loan application”",
        "Event connection.linked",
    ):
        expect(customer.timeline_entries.filter(has_text=event)).not_to_have_count(0)
    expect(customer.timeline_entries.filter(has_text="Event connection.linked")).to_contain_text(
        f"To {admin_seed.endpoint_url}: succeeded, 1 attempt, last HTTP 204"
    )

    consents = customer.open_section("Consents", ConsentsPage).filter(
        Journey="default", Decision="granted"
    )
    granted = consents.rows_for(admin_seed.customer_name)
    expect(granted).to_have_count(2)
    expect(granted.filter(has_text="financial_statements")).to_contain_text("required")
    consents = consents.filter(Consent_item="ongoing_monitoring", Decision="declined")
    expect(consents.rows_for(admin_seed.customer_name)).to_have_count(1)

    funnel = consents.open_section("Funnel", FunnelPage).show()
    expect(funnel.chart).to_be_visible()
    expect(funnel.steps.get_by_role("row")).not_to_have_count(0)
    expect(funnel.steps.get_by_role("rowheader").first).to_be_visible()
    # The customer's run opened, completed and connected on the current version.
    current = funnel.versions.get_by_role("row").filter(has_text="(current)")
    expect(current).to_have_count(1)
    expect(current.get_by_role("cell").nth(2)).not_to_have_text("0")
    version = current.get_by_role("code").text_content() or ""
    funnel = funnel.show_version(version)
    expect(funnel.main.get_by_text(f"(version {version})")).to_be_visible()
    expect(
        funnel.versions.get_by_role("link", name=f"Funnel of version {version}")
    ).to_have_attribute("aria-current", "true")

    webhooks = funnel.open_section("Webhooks", WebhooksPage)
    expect(webhooks.endpoints).to_contain_text(admin_seed.endpoint_url)
    delivered = webhooks.deliveries.get_by_role("row").filter(has_text="connection.linked")
    expect(delivered.filter(has_text="succeeded").first).to_contain_text("HTTP 204")

    golive = webhooks.open_section("Go-live checklist", GoLivePage)
    expect(golive.summary).to_contain_text("checks are ready")


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_every_screen_is_accessible(
    new_context: Callable[..., BrowserContext],
    admin_sessions: Callable[[str], dict[str, Any]],
    live_server: LiveServer,
    admin_seed: AdminSeed,
    viewport: dict[str, int],
) -> None:
    def check(page: Page) -> None:
        assert_accessible(page)
        assert_no_horizontal_scroll(page)

    sign_in_page = new_context(viewport=viewport).new_page()
    SignInPage.open(sign_in_page, live_server.url)
    check(sign_in_page)

    page = _admin_page(new_context, admin_sessions, viewport=viewport)
    page.goto(f"{live_server.url}/admin/")
    screen: AdminScreen = OverviewPage(page)
    check(page)
    for label, to in SCREENS.items():
        if label != "Overview":
            screen = screen.open_section(label, to)
            check(page)

    page.goto(f"{live_server.url}/admin/customers/{admin_seed.customer_public_id}")
    CustomerPage(page, admin_seed.customer_name)
    check(page)

    # The funnel drawn for a journey: its chart and tables.
    page.goto(f"{live_server.url}/admin/funnel")
    expect(FunnelPage(page).show().chart).to_be_visible()
    check(page)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_an_admin_reads_downloads_and_prints_the_security_evidence(
    new_context: Callable[..., BrowserContext],
    admin_sessions: Callable[[str], dict[str, Any]],
    live_server: LiveServer,
    viewport: dict[str, int],
) -> None:
    page = _admin_page(new_context, admin_sessions, viewport=viewport, accept_downloads=True)
    page.goto(f"{live_server.url}/admin/security")
    evidence = SecurityEvidencePage(page)
    expect(evidence.main).to_contain_text("Data encryption on webhooks (such as mTLS, HMAC)")
    webhooks = evidence.section("Webhooks")
    expect(webhooks).to_contain_text("Signed with HMAC-SHA256 per Standard Webhooks")
    retention = evidence.section("Retention per journey")
    expect(retention.get_by_role("row").filter(has_text="business")).to_contain_text("30 days")
    assert_accessible(page)
    assert_no_horizontal_scroll(page)

    with page.expect_download() as download:
        evidence.download_json.click()
    assert download.value.suggested_filename == "security-evidence.json"
    pack = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert len(pack["answers"]) == 6

    page.emulate_media(media="print")
    expect(page.get_by_role("navigation", name="Admin sections")).to_be_hidden()
    expect(evidence.download_json).to_be_hidden()


def test_signing_in_with_the_keyboard_only(page: Page, live_server: LiveServer) -> None:
    email = new_colleague(live_server, "viewer")
    sign_in = SignInPage.open(page, live_server.url)

    # From the top of the page: the skip link, the console's name, then the form.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    expect(sign_in.email).to_be_focused()
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    expect(sign_in.password).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Tab")
    expect(sign_in.sign_in_button).to_be_focused()
    page.keyboard.press("Enter")

    overview = OverviewPage(page)
    expect(overview.role_line).to_contain_text("with the viewer role.")

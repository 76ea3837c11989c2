"""What each role may and may not do in the admin console, in a real browser.

Admins do everything; editors look after journeys; support colleagues help customers
(links, notes); advisors add customers and send them links; viewers only read. Each
colleague signs in through the sign-in form.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from app import clock
from e2e.accessibility import assert_accessible
from e2e.admin import (
    ROLES,
    SCREENS,
    AdminScreen,
    AuditLogPage,
    ConsentsPage,
    CustomerPage,
    CustomersPage,
    ForbiddenPage,
    JourneysPage,
    SignInPage,
    UsersPage,
    WebhooksPage,
    new_colleague,
    sections_for,
    sign_in_as,
)
from e2e.conftest import AdminSeed
from e2e.live import LiveServer
from e2e.pages import SANDBOX, DonePage

# Pages only admins may open, by their address.
ADMIN_ONLY = {"Users": "/admin/users", "API keys": "/admin/api-keys", "Audit log": "/admin/audit"}
DEFAULT_JOURNEY = "Share your accounts for your loan application (default)"


@pytest.mark.parametrize("role", ROLES)
def test_each_role_sees_and_opens_only_its_sections(
    page: Page, live_server: LiveServer, role: str
) -> None:
    overview = sign_in_as(page, live_server, role)
    expect(overview.role_line).to_contain_text(f", with the {role} role.")
    expect(overview.signed_in_as).to_contain_text(f"({role})")

    sections = sections_for(role)
    expect(overview.nav_links).to_have_text(sections)
    screen: AdminScreen = overview
    for label in sections[1:]:
        screen = screen.open_section(label, SCREENS[label])
    if "Journeys" in sections:
        journeys = screen.open_section("Journeys", JourneysPage)
        expect(journeys.journeys).to_contain_text("default")
        expect(journeys.new_draft_link).to_have_count(1 if role in ("admin", "editor") else 0)
    else:
        # An advisor changes no settings and sees none, not even read only.
        ForbiddenPage.open(page, f"{live_server.url}/admin/journeys")

    for label, path in ADMIN_ONLY.items():
        if label not in sections:
            ForbiddenPage.open(page, f"{live_server.url}{path}")


def test_support_helps_a_customer_and_an_admin_sees_it_in_the_audit_log(
    new_context: Callable[..., BrowserContext], live_server: LiveServer, admin_seed: AdminSeed
) -> None:
    support = new_colleague(live_server, "support")
    page = new_context().new_page()
    overview = SignInPage.open(page, live_server.url).sign_in(support)

    customer = (
        overview.open_section("Customers", CustomersPage)
        .search(admin_seed.external_id)
        .open(admin_seed.customer_name)
    )
    row = customer.connection_row(SANDBOX)
    expect(row).to_contain_text(admin_seed.organisation)
    expect(row).to_contain_text("linked")
    expect(customer.disconnect_button(SANDBOX)).to_be_visible()
    expect(customer.reconnect_button(SANDBOX)).to_be_visible()

    note = "Called the owner: they will reconnect after the year end."
    customer = customer.add_note(note)
    expect(customer.timeline_entries.filter(has_text=f"Note by {support}")).to_contain_text(note)

    customer = customer.create_link(DEFAULT_JOURNEY)
    link = customer.new_link.input_value()
    assert link.startswith(f"{live_server.url}/j/")
    # The link works: in the customer's own browser it opens their journey, which they
    # completed already.
    journey = new_context().new_page()
    journey.goto(link)
    DonePage(journey)

    # Signed out, the console asks to sign in again.
    signed_out = customer.sign_out()
    expect(signed_out.notice("You are signed out.")).to_be_visible()
    page.goto(f"{live_server.url}/admin/customers/{admin_seed.customer_public_id}")
    SignInPage(page)

    admin_page = new_context().new_page()
    admin = sign_in_as(admin_page, live_server, "admin")
    users = admin.open_section("Users", UsersPage)
    expect(users.row(support)).to_contain_text("support")
    expect(users.row(support)).not_to_contain_text("never")

    newcomer = f"newcomer-{support}"
    users = users.add_colleague(newcomer, "Viewer — read only")
    expect(users.row(newcomer)).to_contain_text("viewer")

    audit = users.open_section("Audit log", AuditLogPage).filter(Actor=support)
    for action in ("user.login", "customer.note_added", "customer.link_created"):
        expect(audit.entry(action, support)).to_have_count(1)
    expect(audit.entry("customer.note_added", support)).to_contain_text(
        admin_seed.customer_public_id
    )
    # The link is a credential: the audit log says one was made, never what it is.
    expect(audit.entries).not_to_contain_text(link)

    audit = audit.filter(Actor="", Action="user.create")
    expect(audit.entry("user.create", admin.signed_in_email())).to_contain_text(newcomer)


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_colleagues_who_may_not_act_see_no_actions(
    new_context: Callable[..., BrowserContext],
    admin_sessions: Callable[[str], dict[str, Any]],
    live_server: LiveServer,
    admin_seed: AdminSeed,
    role: str,
) -> None:
    page = new_context(storage_state=admin_sessions(role)).new_page()
    page.goto(f"{live_server.url}/admin/customers/{admin_seed.customer_public_id}")
    customer = CustomerPage(page, admin_seed.customer_name)
    expect(customer.connection_row(SANDBOX)).to_contain_text("linked")
    expect(customer.timeline_entries.first).to_be_visible()
    expect(customer.action_buttons).to_have_count(0)
    expect(customer.send_link_section).to_have_count(0)
    expect(customer.note_section).to_have_count(0)

    webhooks = customer.open_section("Webhooks", WebhooksPage)
    expect(webhooks.endpoints).to_contain_text(admin_seed.endpoint_url)
    expect(webhooks.manage_buttons).to_have_count(0)

    for path in ADMIN_ONLY.values():
        forbidden = ForbiddenPage.open(page, f"{live_server.url}{path}")
    assert_accessible(forbidden.page)


def test_an_admin_sends_a_test_event_and_sees_every_action(
    new_context: Callable[..., BrowserContext],
    admin_sessions: Callable[[str], dict[str, Any]],
    live_server: LiveServer,
    admin_seed: AdminSeed,
) -> None:
    page = new_context(storage_state=admin_sessions("admin")).new_page()
    page.goto(f"{live_server.url}/admin/webhooks")
    webhooks = WebhooksPage(page).send_test(admin_seed.endpoint_url)
    expect(webhooks.notice("The endpoint accepted a signed test event (HTTP 204).")).to_be_visible()
    expect(webhooks.deliveries).to_contain_text(admin_seed.endpoint_url)
    expect(webhooks.deliveries).to_contain_text("HTTP 204")

    page.goto(f"{live_server.url}/admin/customers/{admin_seed.customer_public_id}")
    customer = CustomerPage(page, admin_seed.customer_name)
    expect(customer.create_link_button).to_be_visible()
    expect(customer.add_note_button).to_be_visible()
    expect(customer.disconnect_button(SANDBOX)).to_be_visible()


def test_a_failed_sign_in_says_what_to_do(page: Page, live_server: LiveServer) -> None:
    email = new_colleague(live_server, "viewer")
    sign_in = SignInPage.open(page, live_server.url)

    problem = sign_in.sign_in_expecting_problem(email, "not the password at all")
    expect(problem.error_summary).to_contain_text("The email address or password is not right.")
    assert_accessible(page)

    problem = problem.sign_in_expecting_problem("", "")
    expect(
        problem.error_summary.get_by_role("link", name="Enter your email address.")
    ).to_be_visible()
    problem.error_summary.get_by_role("link", name="Enter your password.").click()
    expect(problem.password).to_be_focused()
    assert_accessible(page)

    expect(problem.sign_in(email).role_line).to_contain_text("with the viewer role.")


def test_an_idle_session_ends_and_signing_in_again_returns_to_the_page(
    page: Page, live_server: LiveServer
) -> None:
    email = new_colleague(live_server, "support")
    customers = (
        SignInPage.open(page, live_server.url)
        .sign_in(email)
        .open_section("Customers", CustomersPage)
    )

    # The app's clock an hour on: longer than any session may stay idle.
    clock.set_now(clock.now() + timedelta(hours=1))
    try:
        customers.nav_link("Consents").click()
        sign_in = SignInPage(page)
        expect(
            sign_in.notice("You were signed out after a period of inactivity. Sign in again.")
        ).to_be_visible()
    finally:
        clock.set_now(None)

    consents = sign_in.sign_in_to(ConsentsPage, email)
    expect(consents.nav_link("Consents")).to_have_attribute("aria-current", "page")

"""Who sees whom, in a real browser: assigned customers, colleagues who see only their
own, and the advisor who adds customers and sends them links but changes no settings."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from e2e.accessibility import assert_accessible, assert_no_horizontal_scroll
from e2e.admin import (
    CustomerPage,
    CustomersPage,
    NewCustomerPage,
    SignInPage,
    UsersPage,
    new_colleague,
    sign_in_as,
)
from e2e.live import LiveServer
from e2e.pages import Screen

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SETTINGS = ("Journeys", "Webhooks", "Users", "API keys", "Audit log", "Go-live checklist")


class NotFoundPage(Screen):
    title = "Page not found"


def _customer(live_server: LiveServer, name: str, assigned_to: str | None = None) -> str:
    """A customer in the live server's database (assigned to the colleague with that
    email, if given); returns their public id."""
    from sqlalchemy import select

    from app.extensions import db
    from app.models import Customer, User

    with live_server.app.app_context():
        user_id = None
        if assigned_to is not None:
            user_id = db.session.scalars(select(User.id).where(User.email == assigned_to)).one()
        customer = Customer(
            name=name, email=f"{uuid.uuid4().hex[:8]}@customer.example", assigned_user_id=user_id
        )
        db.session.add(customer)
        db.session.commit()
        return customer.public_id


def _signed_in(page: Page, live_server: LiveServer, email: str) -> CustomersPage:
    overview = SignInPage.open(page, live_server.url).sign_in(email)
    return overview.open_section("Customers", CustomersPage)


def test_a_restricted_support_colleague_sees_only_their_own_customers(
    page: Page, live_server: LiveServer
) -> None:
    email = new_colleague(live_server, "support", own_customers_only=True)
    suffix = uuid.uuid4().hex[:6]
    mine, theirs = f"Own Bakery {suffix}", f"Someone Else's Garage {suffix}"
    _customer(live_server, mine, assigned_to=email)
    other_id = _customer(live_server, theirs)

    customers = _signed_in(page, live_server, email)
    expect(customers.results.get_by_role("link", name=mine, exact=True)).to_be_visible()
    expect(customers.results).not_to_contain_text(theirs)
    # Searching for the other customer by name finds nothing either.
    customers.main.get_by_role("searchbox", name="Name, email or external id").fill(theirs)
    customers.main.get_by_role("button", name="Search", exact=True).click()
    expect(customers.main).to_contain_text(f"No customer matches “{theirs}”")
    # The overview offers no page that sums up every customer.
    for label in ("Funnel", "Go-live checklist", "Webhooks"):
        expect(customers.nav_link(label)).to_have_count(0)

    response = page.goto(f"{live_server.url}/admin/customers/{other_id}")
    assert response is not None and response.status == 404
    NotFoundPage(page)
    expect(page.get_by_role("main")).not_to_contain_text(theirs)

    page.goto(f"{live_server.url}/admin/customers")
    customer = CustomersPage(page).open(mine)
    # They may take the customer on, or let go, but not hand it to someone else.
    expect(customer.assignee.get_by_role("option")).to_have_text(["Nobody", email])


def test_an_advisor_adds_a_customer_gets_a_link_and_sees_no_settings(
    page: Page, live_server: LiveServer
) -> None:
    overview = sign_in_as(page, live_server, "advisor")
    expect(overview.role_line).to_contain_text("with the advisor role.")
    for label in SETTINGS:
        expect(overview.nav_link(label)).to_have_count(0)
    email = overview.signed_in_email()

    name = f"Fresh Start Ltd {uuid.uuid4().hex[:6]}"
    form = overview.open_section("Customers", CustomersPage).add_customer()
    form.main.get_by_role("button", name="Add customer and create link").click()
    problem = NewCustomerPage(page)
    expect(problem.error_summary).to_contain_text("Enter the customer's business name.")

    customer = problem.add(name, "Owner@FreshStart.example", journey=None)
    assert customer.new_link.input_value().startswith(f"{live_server.url}/j/")
    expect(customer.main).to_contain_text(f"Assigned to {email}.")
    # Links for existing customers too; nothing else changes hands.
    expect(customer.send_link_section).to_be_visible()
    expect(customer.note_section).to_have_count(0)
    expect(customer.assignee).to_have_count(0)

    page.goto(f"{live_server.url}/admin/customers")
    mine = CustomersPage(page).show_assigned_to("Me")
    expect(mine.results.get_by_role("link", name=name, exact=True)).to_be_visible()

    response = page.goto(f"{live_server.url}/admin/users")
    assert response is not None and response.status == 403


def test_an_admin_assigns_a_customer_and_limits_a_colleague(
    new_context: Callable[..., BrowserContext], page: Page, live_server: LiveServer
) -> None:
    colleague = new_colleague(live_server, "viewer")
    name = f"Assign Me Ltd {uuid.uuid4().hex[:6]}"
    public_id = _customer(live_server, name)

    overview = sign_in_as(page, live_server, "admin")
    page.goto(f"{live_server.url}/admin/customers/{public_id}")
    customer = CustomerPage(page, name).assign_to(colleague)
    expect(
        customer.timeline_entries.filter(
            has_text=f"customer.assign by {overview.signed_in_email()}"
        )
    ).to_contain_text(f"assigned_to: nobody → {colleague}")

    users = customer.open_section("Users", UsersPage).limit_to_own_customers(colleague)
    expect(users.own_customers_only(colleague)).to_be_checked()

    # The colleague, signed in elsewhere, sees that customer, and the list says whose it is.
    customers = _signed_in(new_context().new_page(), live_server, colleague)
    expect(customers.results.get_by_role("link")).to_have_text([name])
    expect(customers.results).to_contain_text(colleague)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_new_screens_are_accessible(
    new_context: Callable[..., BrowserContext],
    admin_sessions: Callable[[str], dict[str, Any]],
    live_server: LiveServer,
    viewport: dict[str, int],
) -> None:
    def check(page: Page) -> None:
        assert_accessible(page)
        assert_no_horizontal_scroll(page)

    name = f"Accessible Ltd {uuid.uuid4().hex[:6]}"
    page = new_context(storage_state=admin_sessions("admin"), viewport=viewport).new_page()

    page.goto(f"{live_server.url}/admin/customers/new")
    form = NewCustomerPage(page)
    check(page)
    form.main.get_by_role("button", name="Add customer and create link").click()
    expect(NewCustomerPage(page).error_summary).to_be_visible()
    check(page)

    customer = NewCustomerPage(page).add(name, "hello@accessible.example")
    expect(customer.assignee).to_be_visible()
    check(page)

    page.goto(f"{live_server.url}/admin/customers")
    customers = CustomersPage(page).show_assigned_to("Nobody")
    expect(customers.results.get_by_role("link", name=name, exact=True)).to_be_visible()
    check(page)

    page.goto(f"{live_server.url}/admin/users")
    users = UsersPage(page)
    expect(users.main.get_by_label("Sees only their own customers", exact=True)).to_be_visible()
    check(page)

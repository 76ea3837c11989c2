"""A clerk whose role is too weak signs in at the platform: the customer is told so and
whom to ask, then their accountant signs in with an adviser login, picks the customer's
organisation among their clients and connects it."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from app.sandbox.data import ADVISER_USER, BLUEBELL, INVOICES_USER
from e2e.accessibility import assert_accessible
from e2e.live import JourneyLink, LiveServer
from e2e.pages import ConnectPage


def test_a_role_too_weak_is_explained_and_an_adviser_connects_instead(
    at_connect: ConnectPage, page: Page, journey_link: JourneyLink, live_server: LiveServer
) -> None:
    sign_in = at_connect.continue_to_sandbox()
    assert_accessible(page)
    consent = sign_in.sign_in(INVOICES_USER.email, INVOICES_USER.password)
    expect(consent.organisation(BLUEBELL.name)).to_have_accessible_description(
        "Your role: Invoice only"
    )
    assert_accessible(page)

    consent.choose(BLUEBELL.name).main.get_by_role("button", name="Approve").click()
    refused = ConnectPage(page)

    expect(refused.alert).to_contain_text("Your role in Bluebell Bakery Ltd can't give access")
    expect(refused.alert).to_contain_text(
        "as invoices@sandbox.test, whose role in Bluebell Bakery Ltd is “Invoice only”"
    )
    expect(refused.alert).to_contain_text("one of: Standard, Adviser")
    expect(refused.continue_button).to_be_hidden()
    assert_accessible(page)

    adviser = refused.try_again_with_another_login().sign_in(
        ADVISER_USER.email, ADVISER_USER.password
    )
    expect(adviser.organisations.get_by_role("radio")).to_have_count(
        len(ADVISER_USER.organisations)
    )
    done = adviser.choose(BLUEBELL.name).approve()

    expect(done.status).to_contain_text(f"Connected to {BLUEBELL.name}")
    connections = live_server.connections(journey_link.customer_public_id)
    assert [(c.status, c.last_error, c.provider_user_role) for c in connections] == [
        ("failed", "role_too_weak", "invoice_only"),
        ("linked", None, "adviser"),
    ]

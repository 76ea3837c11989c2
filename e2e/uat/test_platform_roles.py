"""Who signs in at the platform matters: a login whose role there is too weak to give
access is refused before the customer's time is wasted, and told whom to ask; an adviser
(the customer's accountant) signs in with their own login, picks the customer's
organisation among their clients and connects it."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from app.sandbox.data import ADVISER_USER, INVOICES_USER
from e2e.pages.journey import DefaultConnect, DefaultDone, DefaultWelcome
from e2e.uat.api import UatCustomer
from e2e.uat.test_journeys import BLUEBELL


def test_a_role_too_weak_then_the_accountant_connects(page: Page, customer: UatCustomer) -> None:
    """The clerk's login is "Invoice only" at Bluebell Bakery Ltd: nothing is connected,
    the page says who signed in with which role and which roles can; the accountant's
    adviser login then connects the same organisation."""
    consent = (
        DefaultWelcome.open(page, customer.url("default"))
        .get_started()
        .agree()
        .choose_sandbox()
        .continue_to_sandbox()
        .sign_in(INVOICES_USER.email, INVOICES_USER.password)
    )
    refused = consent.choose(BLUEBELL).approve_to(DefaultConnect)

    expect(refused.alert).to_contain_text(f"Your role in {BLUEBELL} can't give access")
    expect(refused.alert).to_contain_text(
        f"as {INVOICES_USER.email}, whose role in {BLUEBELL} is “Invoice only”"
    )
    expect(refused.alert).to_contain_text("one of: Standard, Adviser")
    assert customer.statuses() == [("failed", BLUEBELL)]
    [failed] = customer.connections()
    assert (failed["last_error"], failed["provider_user_role"]) == (
        "role_too_weak",
        "invoice_only",
    )

    adviser = refused.try_again_with_another_login().sign_in(
        ADVISER_USER.email, ADVISER_USER.password
    )
    expect(adviser.organisations).to_have_count(len(ADVISER_USER.organisations))
    done = adviser.choose(BLUEBELL).approve_to(DefaultDone)

    expect(done.connected(BLUEBELL)).to_be_visible()
    assert customer.statuses() == [("failed", BLUEBELL), ("linked", BLUEBELL)]
    assert customer.connections()[1]["provider_user_role"] == "adviser"

"""The Sandbox's test logins: the demo owner, an adviser who sees several client
organisations, and a clerk whose role is too weak; each dialect that reports a role
reports theirs in the vendor's shape."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask

from app.sandbox.data import ADVISER_USER, BLUEBELL, DEMO, INVOICES_USER, LEDGERLINE, USERS
from app.sandbox.dialects import dialect_organisation_id
from tests.sandbox.conftest import Vendor, json_of

Vendors = Callable[[str], Vendor]


def _as(vendor: Vendors, key: str, email: str, password: str) -> Vendor:
    signed_in = vendor(key)
    signed_in.email, signed_in.password = email, password
    return signed_in


def test_the_sign_in_page_lists_every_test_login(vendor: Vendors) -> None:
    sandbox = vendor("sandbox")

    page = sandbox.customer.get(sandbox.authorize_url()).get_data(as_text=True)

    for user in USERS:
        assert user.email in page
        assert user.password in page
    assert "Invoice only" in page


@pytest.mark.parametrize("user", USERS, ids=lambda u: u.email)
def test_each_login_chooses_among_its_own_organisations_with_its_role(
    vendor: Vendors, user: object
) -> None:
    assert user in USERS
    sandbox = _as(vendor, "sandbox", user.email, user.password)  # type: ignore[attr-defined]

    page = sandbox.consent_page(sandbox.authorize_url())

    for organisation, _role in user.memberships:  # type: ignore[attr-defined]
        assert organisation.name in page
    others = {org.name for u in USERS for org in u.organisations} - {
        org.name
        for org in user.organisations  # type: ignore[attr-defined]
    }
    for name in others:
        assert name not in page


def test_a_login_cannot_approve_an_organisation_it_does_not_see(vendor: Vendors) -> None:
    sandbox = _as(vendor, "sandbox", INVOICES_USER.email, INVOICES_USER.password)
    url = sandbox.authorize_url()
    sandbox.consent_page(url)

    answer = sandbox.customer.post(url, data={"organisation": LEDGERLINE.id, "approve": "Approve"})

    assert answer.status_code == 200
    assert "Not a valid choice" in answer.get_data(as_text=True)


@pytest.mark.parametrize(
    ("user", "role"),
    [(DEMO, "standard"), (ADVISER_USER, "adviser"), (INVOICES_USER, "invoice_only")],
    ids=["owner", "adviser", "clerk"],
)
def test_the_sandbox_names_who_approved_and_their_role(
    vendor: Vendors, user: object, role: str
) -> None:
    sandbox = _as(vendor, "sandbox", user.email, user.password)  # type: ignore[attr-defined]
    tokens = sandbox.connect(BLUEBELL.id)

    organisation = json_of(
        sandbox.backend.get(
            "/sandbox/api/organisation",
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
        )
    )

    assert organisation["id"] == BLUEBELL.id
    assert organisation["user"]["email"] == user.email  # type: ignore[attr-defined]
    assert organisation["user"]["role"] == role


def test_the_adviser_lists_the_client_organisations_it_sees(vendor: Vendors) -> None:
    sandbox = _as(vendor, "sandbox", ADVISER_USER.email, ADVISER_USER.password)
    tokens = sandbox.connect(BLUEBELL.id)

    listed = json_of(
        sandbox.backend.get(
            "/sandbox/api/organisations",
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
        )
    )["organisations"]

    assert [o["name"] for o in listed] == [o.name for o in ADVISER_USER.organisations]
    assert {o["role"] for o in listed} == {"adviser"}


@pytest.mark.parametrize(
    ("user", "role"),
    [(DEMO, "STANDARD"), (ADVISER_USER, "FINANCIALADVISER"), (INVOICES_USER, "INVOICEONLY")],
    ids=["owner", "adviser", "clerk"],
)
def test_xero_users_report_each_organisation_role(vendor: Vendors, user: object, role: str) -> None:
    xero = _as(vendor, "xero", user.email, user.password)  # type: ignore[attr-defined]
    tokens = xero.connect(BLUEBELL.id)
    tenant = dialect_organisation_id("xero", BLUEBELL)

    body = json_of(
        xero.get("/api.xro/2.0/Users", tokens["access_token"], headers={"xero-tenant-id": tenant})
    )

    assert body["Status"] == "OK"
    mine = next(u for u in body["Users"] if u["EmailAddress"] == user.email)  # type: ignore[attr-defined]
    assert mine["OrganisationRole"] == role
    # Everyone with a role at Bluebell is listed, each once.
    assert sorted(u["EmailAddress"] for u in body["Users"]) == sorted(
        u.email for u in USERS if u.role_in(BLUEBELL.id)
    )


def test_xero_users_refuse_a_tenant_the_token_does_not_reach(vendor: Vendors) -> None:
    xero = _as(vendor, "xero", ADVISER_USER.email, ADVISER_USER.password)
    tokens = xero.connect(BLUEBELL.id)
    elsewhere = dialect_organisation_id("xero", LEDGERLINE)

    answer = xero.get(
        "/api.xro/2.0/Users", tokens["access_token"], headers={"xero-tenant-id": elsewhere}
    )

    assert answer.status_code == 403


def test_freshbooks_memberships_carry_the_login_role(vendor: Vendors) -> None:
    freshbooks = _as(vendor, "freshbooks", ADVISER_USER.email, ADVISER_USER.password)
    tokens = freshbooks.connect(BLUEBELL.id)

    me = json_of(freshbooks.get("/auth/api/v1/users/me", tokens["access_token"]))["response"]

    assert me["email"] == ADVISER_USER.email
    assert {m["role"] for m in me["business_memberships"]} == {"accountant"}
    assert len(me["business_memberships"]) == len(ADVISER_USER.organisations)


def test_a_standalone_sandbox_registers_every_test_login(sandbox: Flask) -> None:
    logins = sandbox.extensions["sandbox_test_logins"]

    assert [login.email for login in logins] == [user.email for user in USERS]
    assert all(login.who for login in logins)


def test_prompt_login_asks_a_signed_in_browser_to_sign_in_again_once(vendor: Vendors) -> None:
    sandbox = _as(vendor, "sandbox", INVOICES_USER.email, INVOICES_USER.password)
    sandbox.consent_page(sandbox.authorize_url())
    url = sandbox.authorize_url(prompt="login")

    asked = sandbox.customer.get(url).get_data(as_text=True)
    assert "Sign in to Sandbox Accounting" in asked
    sandbox.customer.post(
        url,
        data={
            "email": ADVISER_USER.email,
            "password": ADVISER_USER.password,
            "sign_in": "Sign in",
        },
    )
    page = sandbox.customer.get(url).get_data(as_text=True)

    assert "Choose an organisation" in page
    assert ADVISER_USER.email in page
    assert LEDGERLINE.name in page

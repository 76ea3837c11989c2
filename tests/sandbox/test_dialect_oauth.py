"""Each vendor's authorization server as the Sandbox plays it: the consent screen, the
redirect back, the token endpoint's client authentication and response fields,
scopes, PKCE and refresh."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask

from app.sandbox.data import ORGANISATIONS
from app.sandbox.dialects import (
    BASIC,
    DIALECTS,
    POST,
    VENDOR_DIALECTS,
    dialect_organisation_id,
    dialect_organisation_name,
)
from tests.sandbox.conftest import ASKS, BLUEBELL, Vendor, json_of

Vendors = Callable[[str], Vendor]
# The fields each vendor documents in its token response (beyond the RFC 6749 ones).
TOKEN_FIELDS: dict[str, set[str]] = {
    "xero": set(),
    "quickbooks": {"x_refresh_token_expires_in"},
    "sage": {"refresh_token_expires_in"},
    "freeagent": {"refresh_token_expires_in"},
    "myob": set(),
    "netsuite": set(),
    "freshbooks": {"scope", "created_at"},
    "zoho_books": {"api_domain"},
    "wave": set(),
    "business_central": {"scope", "ext_expires_in"},
}
LIFETIMES = {
    "xero": 1800,
    "quickbooks": 3600,
    "sage": 300,
    "freeagent": 3600,
    "myob": 1200,
    "netsuite": 3600,
    "freshbooks": 43200,
    "zoho_books": 3600,
    "wave": 7200,
    "business_central": 3600,
}


@pytest.mark.parametrize("key", VENDOR_DIALECTS)
def test_the_consent_screen_says_which_vendor_is_played_and_lists_its_raw_scopes(
    vendor: Vendors, key: str
) -> None:
    client = vendor(key)

    page = client.consent_page(client.authorize_url())

    assert f"Sandbox Accounting, playing {DIALECTS[key].vendor}" in page
    for scope in DIALECTS[key].split_scope(ASKS[key].get("scope")):
        assert f"<li><code>{scope}</code></li>" in page
    assert "Choose an organisation" in page


def test_the_consent_screen_lists_zohos_comma_separated_scopes_one_by_one(vendor: Vendors) -> None:
    zoho = vendor("zoho_books")

    page = zoho.consent_page(zoho.authorize_url())

    assert "<li><code>ZohoBooks.settings.READ</code></li>" in page
    assert "<li><code>ZohoBooks.invoices.READ</code></li>" in page


@pytest.mark.parametrize("key", VENDOR_DIALECTS)
def test_approving_sends_code_and_state_back_and_no_issuer(vendor: Vendors, key: str) -> None:
    client = vendor(key)

    query = client.approve(client.authorize_url(state="s" * 30))

    assert query["state"] == "s" * 30
    assert query["code"]
    assert "iss" not in query


@pytest.mark.parametrize("key", VENDOR_DIALECTS)
def test_the_token_response_has_the_vendors_fields_and_lifetime(vendor: Vendors, key: str) -> None:
    tokens = vendor(key).connect()

    expected = {"access_token", "token_type", "expires_in", "refresh_token"} | TOKEN_FIELDS[key]
    assert set(tokens) == expected
    assert tokens["expires_in"] == LIFETIMES[key]


def test_quickbooks_names_the_realm_on_the_redirect_and_its_refresh_lifetimes(
    vendor: Vendors,
) -> None:
    quickbooks = vendor("quickbooks")
    query = quickbooks.approve(quickbooks.authorize_url())
    assert query["realmId"] == dialect_organisation_id("quickbooks", BLUEBELL)

    plain = json_of(quickbooks.exchange(query["code"]))
    assert plain["token_type"] == "bearer"
    assert plain["x_refresh_token_expires_in"] == 8726400
    assert "x_refresh_token_hard_expires_in" not in plain

    asked = quickbooks.backend.post(
        quickbooks.path("/oauth2/v1/tokens/bearer"),
        data={"grant_type": "refresh_token", "refresh_token": plain["refresh_token"]},
        auth=("onramp-sandbox-client", "test-sandbox-client-secret"),
        headers={"x-include-refresh-token-hard-expires-in": "true"},
    )
    five_years = int(timedelta(days=5 * 365).total_seconds())
    assert five_years - 60 < json_of(asked)["x_refresh_token_hard_expires_in"] <= five_years


def test_myob_names_the_business_only_when_asked_with_prompt_consent(vendor: Vendors) -> None:
    myob = vendor("myob")

    without = myob.approve(myob.authorize_url())
    with_prompt = myob.approve(myob.authorize_url(prompt="consent"))

    assert "businessId" not in without
    assert "businessName" not in without
    assert with_prompt["businessId"] == dialect_organisation_id("myob", BLUEBELL)
    assert with_prompt["businessName"] == dialect_organisation_name("myob", BLUEBELL)


def test_netsuite_names_role_entity_and_account_on_the_redirect(vendor: Vendors) -> None:
    netsuite = vendor("netsuite")

    query = netsuite.approve(netsuite.authorize_url())

    assert query["company"] == dialect_organisation_id("netsuite", BLUEBELL)
    assert query["company"].startswith("TSTDRV")
    assert query["role"]
    assert query["entity"]


@pytest.mark.parametrize(
    "key", ["xero", "sage", "freeagent", "wave", "zoho_books", "business_central"]
)
def test_vendors_that_name_nothing_on_the_redirect_add_nothing(vendor: Vendors, key: str) -> None:
    client = vendor(key)

    query = client.approve(client.authorize_url())

    assert set(query) == {"code", "state"}


@pytest.mark.parametrize("key", VENDOR_DIALECTS)
def test_the_token_endpoint_refuses_the_client_authentication_the_vendor_does_not_use(
    vendor: Vendors, key: str
) -> None:
    client = vendor(key)
    code = client.approve(client.authorize_url())["code"]
    other = POST if DIALECTS[key].client_auth == (BASIC,) else BASIC

    refused = client.exchange(code, method=other)

    assert refused.status_code == 401
    assert json_of(refused)["error"] == "invalid_client"
    assert client.exchange(code).status_code == 200  # the code was not spent


def test_sage_refuses_basic_auth_and_xero_refuses_a_posted_secret(vendor: Vendors) -> None:
    sage, xero = vendor("sage"), vendor("xero")
    sage_code = sage.approve(sage.authorize_url())["code"]
    xero_code = xero.approve(xero.authorize_url())["code"]

    assert sage.exchange(sage_code, method=BASIC).status_code == 401
    assert xero.exchange(xero_code, method=POST).status_code == 401


@pytest.mark.parametrize(
    ("key", "scope"),
    [
        ("wave", "business:read transaction:read"),
        ("wave", "offline_access"),
        ("zoho_books", "ZohoBooks.fullaccess.READ"),
        ("zoho_books", "ZohoBooks.settings.READ ZohoBooks.invoices.READ"),
        ("sage", "accounting.read"),
        ("freeagent", "read"),
        ("xero", "accounting.read"),
    ],
    ids=[
        "wave-transaction-read",
        "wave-offline",
        "zoho-fullaccess-read",
        "zoho-space-separated",
        "sage-sandbox-scope",
        "freeagent-any-scope",
        "xero-sandbox-scope",
    ],
)
def test_a_scope_the_vendor_does_not_know_is_sent_back_as_invalid_scope(
    vendor: Vendors, key: str, scope: str
) -> None:
    client = vendor(key)

    answer = client.customer.get(client.authorize_url(scope=scope, state="state-of-the-request"))

    query = _query(answer.location)
    assert query["error"] == "invalid_scope"
    assert query["state"] == "state-of-the-request"
    assert "iss" not in query


def test_zoho_accepts_a_full_access_scope_the_guides_name(vendor: Vendors) -> None:
    zoho = vendor("zoho_books")

    tokens = zoho.connect(scope="ZohoBooks.fullaccess.all")

    assert tokens["access_token"]


def test_netsuite_requires_pkce_with_s256(vendor: Vendors) -> None:
    netsuite = vendor("netsuite")

    without = _query(netsuite.customer.get(netsuite.authorize_url(pkce=False)).location)
    plain = _query(
        netsuite.customer.get(
            netsuite.authorize_url(code_challenge="x" * 43, code_challenge_method="plain")
        ).location
    )

    assert without["error"] == "invalid_request"
    assert plain["error"] == "invalid_request"


def test_netsuite_wants_a_state_of_at_least_22_characters(vendor: Vendors) -> None:
    netsuite = vendor("netsuite")

    short = _query(netsuite.customer.get(netsuite.authorize_url(state="too-short")).location)

    assert short["error"] == "invalid_request"


def test_pkce_is_optional_elsewhere_but_checked_when_sent(vendor: Vendors) -> None:
    xero = vendor("xero")
    without = xero.approve(xero.authorize_url(pkce=False))["code"]
    assert xero.exchange(without).status_code == 200

    with_pkce = xero.approve(xero.authorize_url())["code"]
    xero.verifier = "a-wrong-verifier-that-is-long-enough-to-be-valid-in-form"
    wrong = xero.exchange(with_pkce)
    assert wrong.status_code == 400
    assert json_of(wrong)["error"] == "invalid_grant"


@pytest.mark.parametrize("key", [k for k in VENDOR_DIALECTS if k != "zoho_books"])
def test_refreshing_rotates_the_refresh_token(vendor: Vendors, key: str) -> None:
    client = vendor(key)
    first = client.connect()

    second = json_of(client.refresh(first["refresh_token"]))

    assert second["refresh_token"] != first["refresh_token"]
    assert second["expires_in"] == LIFETIMES[key]
    reused = client.refresh(first["refresh_token"])
    assert reused.status_code == 400
    assert json_of(reused)["error"] == "invalid_grant"


def test_zohos_refresh_response_has_no_refresh_token_and_the_old_one_lives_on(
    vendor: Vendors, sandbox: Flask
) -> None:
    zoho = vendor("zoho_books")
    first = zoho.connect()

    refreshed = json_of(zoho.refresh(first["refresh_token"]))
    again = json_of(zoho.refresh(first["refresh_token"]))

    assert set(refreshed) == {"access_token", "token_type", "expires_in", "api_domain"}
    assert refreshed["token_type"] == "Bearer"
    assert refreshed["api_domain"] == "http://localhost/sandbox/v/zoho_books"
    assert again["access_token"] != refreshed["access_token"]


def test_zoho_gives_a_refresh_token_only_with_access_type_offline(vendor: Vendors) -> None:
    tokens = vendor("zoho_books").connect(access_type=None)

    assert "refresh_token" not in tokens


@pytest.mark.parametrize("key", ["xero", "business_central"])
def test_without_offline_access_there_is_no_refresh_token(vendor: Vendors, key: str) -> None:
    client = vendor(key)
    scope = client.dialect.separator.join(
        s for s in client.dialect.split_scope(ASKS[key]["scope"]) if s != "offline_access"
    )

    tokens = client.connect(scope=scope)

    assert "refresh_token" not in tokens


@pytest.mark.parametrize("key", VENDOR_DIALECTS)
def test_refresh_fails_everywhere_when_the_sandbox_is_told_to_refuse(
    vendor: Vendors, sandbox: Flask, key: str
) -> None:
    client = vendor(key)
    tokens = client.connect()
    sandbox.config["SANDBOX_REFRESH_FAILS"] = True

    refused = client.refresh(tokens["refresh_token"])

    assert refused.status_code == 400
    assert json_of(refused)["error"] == "invalid_grant"


def test_a_code_from_one_vendor_cannot_be_exchanged_at_another(vendor: Vendors) -> None:
    sage, freshbooks = vendor("sage"), vendor("freshbooks")
    code = sage.approve(sage.authorize_url())["code"]
    freshbooks.verifier = sage.verifier

    refused = freshbooks.token_request(
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": "http://localhost/connect/sage/callback",
            "code_verifier": sage.verifier or "",
        }
    )

    assert refused.status_code == 400
    assert json_of(refused)["error"] == "invalid_grant"


def test_a_redirect_uri_not_registered_is_never_redirected_to(vendor: Vendors) -> None:
    xero = vendor("xero")

    answer = xero.customer.get(xero.authorize_url(redirect_uri="https://evil.example/cb"))

    assert answer.status_code == 400
    assert "This connection request cannot be used" in answer.get_data(as_text=True)


def test_every_organisation_has_a_distinct_id_in_every_dialect() -> None:
    ids = {(key, dialect_organisation_id(key, org)) for key in DIALECTS for org in ORGANISATIONS}

    assert len(ids) == len(DIALECTS) * len(ORGANISATIONS)
    assert len({value for _key, value in ids}) == len(ids)


def _query(location: str | None) -> dict[str, str]:
    assert location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}

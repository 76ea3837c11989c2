"""Each platform's documented bodies through Onramp's real look-up, token, refresh,
revoke and webhook code: if a vendor's shape and Onramp's reading of it part, these fail.

Samples and their sources: tests/contract/vendors/ (docs/platforms/ cites the same).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jsonschema
import pytest
from flask import Flask

from app import clock
from app.connections import lifecycle
from app.connections.oauth import (
    Organisation,
    authorization_url,
    discover_organisations,
    exchange_code,
    refresh_tokens,
    revoke_tokens,
)
from app.extensions import db
from app.models import Connection, Customer
from app.platforms import PLATFORMS, expand, setting_problems
from app.vault import decrypt_json, encrypt_json
from tests.contract.conftest import VendorReplay, provider, sample, vendor

TOKEN = {
    "access_token": "at-1",
    "token_type": "Bearer",
    "expires_in": 1800,
    "refresh_token": "rt-1",
}


def _token_from_fields(key: str, **values: Any) -> dict[str, Any]:
    """A token response carrying exactly the fields the vendor documents (values made up:
    vendors publish field names, not sample tokens)."""
    made_up = {
        "access_token": "at-1",
        "refresh_token": "rt-1",
        "token_type": "Bearer",
        "expires_in": 3600,
        "id_token": "id-1",
        "scope": "a b",
        "refresh_token_expires_in": 2678400,
        "created_at": 1733300000,
    }
    return {
        name: values.get(name, made_up[name])
        for name in vendor(key)["samples"]["token_response"]["fields"]
    }


def _exchange(app: Flask, replay: VendorReplay, key: str, answer: dict[str, Any]) -> Any:
    found = provider(app, key)
    replay.answer("POST", found.token_url, answer)
    with app.test_request_context():
        return exchange_code(found, "https://onramp.example/cb", "the-code", "v" * 50)


# --- Xero ----------------------------------------------------------------------------


def test_xero_connections_are_a_top_level_array_of_tenants(
    vendors: Flask, replay: VendorReplay
) -> None:
    body = sample("xero", "connections_response")
    jsonschema.validate(body, _xero_schema("Connections_response"))
    found = provider(vendors, "xero")
    replay.answer("GET", found.organisation_url, body)
    with vendors.app_context():
        organisations = discover_organisations(found, TOKEN, {})
    assert organisations == [
        Organisation(
            "fe79f7dd-b6d4-4a92-ba7b-538af6289c58",
            "Demo Company (NZ)",
            # DELETE /connections/{id} takes the connection's id, not the tenantId.
            {
                "connection_id": "7cb59f93-2964-421d-bb5e-a0f7a4572a44",
                "tenant_type": "ORGANISATION",
            },
        )
    ]
    assert replay.requests_to(found.organisation_url)[0].headers["Authorization"] == "Bearer at-1"


def test_xero_token_response_fields_are_kept(vendors: Flask, replay: VendorReplay) -> None:
    answer = _token_from_fields("xero", expires_in=1800)
    jsonschema.validate(answer, _xero_schema("AccessToken"))
    token = _exchange(vendors, replay, "xero", answer)
    assert token["refresh_token"] == "rt-1" and token["expires_in"] == 1800
    sent = replay.requests_to(provider(vendors, "xero").token_url)[0]
    assert sent.headers["Authorization"].startswith("Basic ")  # client_secret_basic
    assert sent.form["grant_type"] == "authorization_code"


def test_xero_revokes_the_refresh_token_only(vendors: Flask, replay: VendorReplay) -> None:
    """Revoking the refresh token ends Xero's grant: a second call could only fail."""
    found = provider(vendors, "xero")
    assert found.revocation_url is not None
    replay.answer("POST", found.revocation_url, {})
    with vendors.test_request_context():
        revoke_tokens(found, TOKEN)
    sent = replay.requests_to(found.revocation_url)
    assert [s.form["token"] for s in sent] == ["rt-1"]


# --- QuickBooks ------------------------------------------------------------------------


def test_quickbooks_token_asks_for_and_keeps_the_hard_expiry(
    vendors: Flask, replay: VendorReplay
) -> None:
    answer = {
        **sample("quickbooks", "token_response"),
        "x_refresh_token_hard_expires_in": 157680000,
    }
    token = _exchange(vendors, replay, "quickbooks", answer)
    sent = replay.requests_to(provider(vendors, "quickbooks").token_url)[0]
    assert sent.headers["X-Include-Refresh-Token-Hard-Expires-In"] == "true"
    assert sent.headers["Authorization"].startswith("Basic ")
    assert token["x_refresh_token_expires_in"] == 8726400
    assert token["x_refresh_token_hard_expires_in"] == 157680000


def test_quickbooks_refresh_sends_the_hard_expiry_header_too(
    vendors: Flask, replay: VendorReplay
) -> None:
    found = provider(vendors, "quickbooks")
    replay.answer("POST", found.token_url, sample("quickbooks", "token_response"))
    with vendors.test_request_context():
        refresh_tokens(found, "rt-1")
    sent = replay.requests_to(found.token_url)[0]
    assert sent.form["grant_type"] == "refresh_token"
    assert sent.headers["X-Include-Refresh-Token-Hard-Expires-In"] == "true"


def test_quickbooks_realm_on_the_redirect_and_its_company_name(
    vendors: Flask, replay: VendorReplay
) -> None:
    found = provider(vendors, "quickbooks")
    query = parse_qs(urlsplit(vendor("quickbooks")["samples"]["callback_query"]["example"]).query)
    assert "realmId" in query
    assert found.organisation_name_url is not None
    replay.answer(
        "GET",
        found.organisation_name_url.replace("{id}", "310687"),
        sample("quickbooks", "companyinfo_response_excerpt"),
    )
    with vendors.app_context():
        organisations = discover_organisations(found, TOKEN, {"realmId": "310687", "code": "c"})
    assert organisations == [Organisation("310687", "Larry's Bakery")]


def test_quickbooks_api_host_follows_the_environment_setting(app: Flask) -> None:
    app.config["QUICKBOOKS_CLIENT_ID"], app.config["QUICKBOOKS_CLIENT_SECRET"] = "id", "secret"
    hosts = vendor("quickbooks")["facts"]["api_hosts"]["value"]
    quickbooks = PLATFORMS["quickbooks"]
    with app.app_context():
        name_url = quickbooks.organisation.name_url or ""
        assert (
            expand(quickbooks, name_url) == hosts["production"] + "v3/company/{id}/companyinfo/{id}"
        )
        app.config["QUICKBOOKS_ENVIRONMENT"] = "sandbox"
        assert expand(quickbooks, name_url) == hosts["sandbox"] + "v3/company/{id}/companyinfo/{id}"
        app.config["QUICKBOOKS_ENVIRONMENT"] = "staging"
        assert setting_problems(quickbooks) == [
            "environment is 'staging'; it must be one of production, sandbox"
        ]


def test_quickbooks_revokes_with_a_json_body_and_the_refresh_token_only(
    vendors: Flask, replay: VendorReplay
) -> None:
    found = provider(vendors, "quickbooks")
    assert found.revocation_url is not None
    replay.answer("POST", found.revocation_url, {})
    with vendors.test_request_context():
        revoke_tokens(found, TOKEN)
    sent = replay.requests_to(found.revocation_url)
    assert len(sent) == 1
    assert sent[0].headers["Content-Type"] == "application/json"
    assert sent[0].json == {"token": "rt-1"}
    assert sent[0].headers["Authorization"].startswith("Basic ")


# --- Sage ----------------------------------------------------------------------------


def test_sage_businesses_are_listed_under_items(vendors: Flask, replay: VendorReplay) -> None:
    found = provider(vendors, "sage")
    replay.answer("GET", found.organisation_url, sample("sage", "businesses_response"))
    with vendors.app_context():
        organisations = discover_organisations(found, TOKEN, {})
    assert [(o.id, o.name) for o in organisations] == [
        ("0d40342d0287cd6b13555c54afca6c90", "Business One"),
        ("49c196153fb1524b7d888cece84e8b12", "Business Two"),
        ("b88ee3a4ebb47c0c515d7ae56dc0bccf", "Business Three"),
    ]


def test_sage_token_is_asked_for_with_the_secret_in_the_body(
    vendors: Flask, replay: VendorReplay
) -> None:
    token = _exchange(vendors, replay, "sage", _token_from_fields("sage", expires_in=300))
    sent = replay.requests_to(provider(vendors, "sage").token_url)[0]
    assert "Authorization" not in sent.headers
    assert {"client_id", "client_secret"} <= set(sent.form)
    assert token["refresh_token_expires_in"] == 2678400


# --- FreeAgent -----------------------------------------------------------------------


def test_freeagent_company_id_is_company_id_not_its_url(
    vendors: Flask, replay: VendorReplay
) -> None:
    found = provider(vendors, "freeagent")
    replay.answer("GET", found.organisation_url, sample("freeagent", "company_response"))
    with vendors.app_context():
        organisations = discover_organisations(found, TOKEN, {})
    assert organisations == [Organisation("12345", "My Company")]


def test_freeagent_sandbox_environment_moves_every_endpoint(app: Flask) -> None:
    sandbox = vendor("freeagent")["facts"]["sandbox"]["value"]
    freeagent = PLATFORMS["freeagent"]
    app.config["FREEAGENT_ENVIRONMENT"] = "sandbox"
    with app.app_context():
        assert expand(freeagent, freeagent.authorize_url) == sandbox["authorize_url"]
        assert expand(freeagent, freeagent.token_url) == sandbox["token_url"]
        assert expand(freeagent, freeagent.organisation.url or "") == sandbox["api"] + "/v2/company"


# --- FreshBooks ----------------------------------------------------------------------


def test_freshbooks_memberships_keep_the_account_id(vendors: Flask, replay: VendorReplay) -> None:
    found = provider(vendors, "freshbooks")
    replay.answer("GET", found.organisation_url, sample("freshbooks", "me_envelope_excerpt"))
    with vendors.app_context():
        organisations = discover_organisations(found, TOKEN, {})
    assert organisations == [
        Organisation(
            "2122866",
            "Fruity Loops",
            {
                "account_id": "xZNQ1X",
                "business_uuid": "046e4001-0002-616d-710a-a451d4421b13",
                "role": "owner",
            },
            # The user's role in the business, as FreshBooks' sample reports it.
            role="owner",
        )
    ]


# --- MYOB ----------------------------------------------------------------------------


def test_myob_names_the_business_on_the_redirect(vendors: Flask) -> None:
    found = provider(vendors, "myob")
    example = vendor("myob")["samples"]["callback_query"]["example"]
    params = {k: v[0] for k, v in parse_qs(urlsplit(example).query).items()}
    with vendors.app_context():
        organisations = discover_organisations(found, TOKEN, params)
    assert organisations == [
        Organisation("5d4b1ce0-bb9f-4f4c-9578-2b168b7295db", "MYOB Shared Sandbox 21")
    ]
    # MYOB names it only when asked with prompt=consent.
    with vendors.test_request_context():
        url = authorization_url(found, "https://onramp.example/cb", "s" * 30, "v" * 50)
    assert parse_qs(urlsplit(url).query)["prompt"] == ["consent"]


# --- Zoho Books ----------------------------------------------------------------------


def test_zoho_scopes_are_documented_module_scopes_sent_comma_separated(
    vendors: Flask,
) -> None:
    facts = vendor("zoho_books")["facts"]
    found = provider(vendors, "zoho_books")
    assert set(found.scopes) <= set(facts["books_module_read_scopes"]["value"])
    with vendors.test_request_context():
        url = authorization_url(found, "https://onramp.example/cb", "s" * 30, "v" * 50)
    query = parse_qs(urlsplit(url).query)
    assert query["scope"] == [",".join(found.scopes)]
    assert query["access_type"] == ["offline"]


@pytest.mark.parametrize("region", ["com", "eu", "in", "com.au", "jp", "ca"])
def test_zoho_data_centres_each_have_their_accounts_host(app: Flask, region: str) -> None:
    documented = vendor("zoho_books")["facts"]["accounts_servers"]["value"][region]
    zoho = PLATFORMS["zoho_books"]
    app.config["ZOHO_BOOKS_REGION"] = region
    with app.app_context():
        assert expand(zoho, zoho.token_url) == documented + "oauth/v2/token"


def test_zoho_has_no_chinese_books_region(app: Flask) -> None:
    zoho = PLATFORMS["zoho_books"]
    app.config["ZOHO_BOOKS_REGION"] = "com.cn"
    with app.app_context():
        assert setting_problems(zoho)
        assert expand(zoho, zoho.authorize_url) is None


def test_zoho_organisations_in_their_regions_api_domain(
    vendors: Flask, replay: VendorReplay
) -> None:
    found = provider(vendors, "zoho_books")
    api_domain = replay.base + "/zohoapis"
    replay.answer(
        "GET",
        api_domain + "/books/v3/organizations",
        sample("zoho_books", "organizations_list_wrapper"),
    )
    token = {**TOKEN, "api_domain": api_domain}
    with vendors.app_context():
        organisations = discover_organisations(found, token, {})
    assert organisations == [
        Organisation("700012345", "Kalki LLP - India HQ", {"api_domain": api_domain})
    ]
    object_fields = sample("zoho_books", "organization_object")
    assert {"organization_id", "name"} <= set(object_fields)


def test_zoho_refresh_without_a_refresh_token_keeps_the_one_held(
    vendors: Flask, replay: VendorReplay
) -> None:
    found = provider(vendors, "zoho_books")
    replay.answer("POST", found.token_url, sample("zoho_books", "refresh_response"))
    with vendors.app_context():
        connection = _linked(vendors, "zoho_books", {**TOKEN, "refresh_token": "zoho-rt"})
        assert lifecycle.refresh_connection(connection) == "refreshed"
        stored = db.session.get(Connection, connection)
        assert stored is not None and stored.token_ciphertext
        kept = decrypt_json(stored.token_ciphertext)
    assert kept["refresh_token"] == "zoho-rt"
    assert kept["access_token"] == "{new_access_token}"


def test_zoho_revokes_at_its_accounts_host_with_the_token_as_a_parameter(
    app: Flask, vendors: Flask, replay: VendorReplay
) -> None:
    """Zoho's revocation takes the token as the ``token`` parameter. Zoho does not say
    that revoking the refresh token ends its access tokens, so both are sent, refresh
    token first."""
    documented = vendor("zoho_books")["facts"]["revocation_url"]["value"].split(" ")[0]
    zoho = PLATFORMS["zoho_books"]
    with app.app_context():
        app.config["ZOHO_BOOKS_REGION"] = "eu"
        assert expand(zoho, zoho.revocation_url or "") == documented.replace("{region}", "eu")
    found = provider(vendors, "zoho_books")
    assert found.revocation_url is not None
    replay.answer("POST", found.revocation_url, {})
    with vendors.test_request_context():
        revoke_tokens(found, TOKEN)
    assert [s.form["token"] for s in replay.requests_to(found.revocation_url)] == ["rt-1", "at-1"]


# --- Token and refresh, every platform whose vendor says how its client authenticates ---

DOCUMENTED_CLIENT_AUTH = sorted(
    key for key in PLATFORMS if key != "sandbox" and "client_auth" in vendor(key)["facts"]
)


def _documented_token(key: str) -> dict[str, Any]:
    """The vendor's sample token answer, or one with exactly its documented fields."""
    documented = vendor(key)["samples"].get("token_response")
    if documented is None:
        return dict(TOKEN)
    return dict(documented["body"]) if "body" in documented else _token_from_fields(key)


@pytest.mark.parametrize("key", DOCUMENTED_CLIENT_AUTH)
def test_token_and_refresh_authenticate_as_the_vendor_documents(
    vendors: Flask, replay: VendorReplay, key: str
) -> None:
    """The code exchange and the refresh both authenticate the client the vendor's way
    (HTTP Basic, or the id and secret in the body), and every field of the vendor's
    documented token answer reaches Onramp."""
    basic = "basic" in vendor(key)["facts"]["client_auth"]["value"].lower()
    answer = _documented_token(key)
    token = _exchange(vendors, replay, key, answer)
    found = provider(vendors, key)
    with vendors.test_request_context():
        refresh_tokens(found, "rt-1")
    exchange, refresh = replay.requests_to(found.token_url)
    assert set(answer) <= set(token)
    assert exchange.form["grant_type"] == "authorization_code"
    assert exchange.form["code"] == "the-code"
    assert (refresh.form["grant_type"], refresh.form["refresh_token"]) == ("refresh_token", "rt-1")
    for sent in (exchange, refresh):
        assert sent.headers.get("Authorization", "").startswith("Basic ") is basic, key
        assert ("client_secret" in sent.form) is not basic, key


# --- Wave ----------------------------------------------------------------------------


def test_wave_scopes_are_all_documented(vendors: Flask) -> None:
    documented = set(vendor("wave")["facts"]["scopes"]["value"])
    assert set(provider(vendors, "wave").scopes) <= documented


def test_wave_businesses_come_from_its_graphql_api(vendors: Flask, replay: VendorReplay) -> None:
    found = provider(vendors, "wave")
    shape = vendor("wave")["samples"]["businesses_query"]["response_shape"]
    replay.answer("POST", found.organisation_url, shape)
    with vendors.app_context():
        organisations = discover_organisations(found, TOKEN, {})
    assert organisations == [Organisation("<base64 id>", "<name>")]
    sent = replay.requests_to(found.organisation_url)[0]
    assert "businesses" in sent.json["query"]


def test_wave_graphql_errors_fail_the_look_up_clearly(vendors: Flask, replay: VendorReplay) -> None:
    found = provider(vendors, "wave")
    replay.answer("POST", found.organisation_url, {"errors": [{"message": "Unauthorized"}]})
    with vendors.app_context(), pytest.raises(Exception) as failed:
        discover_organisations(found, TOKEN, {})
    assert getattr(failed.value, "reason", None) == "organisation_lookup_failed"


# --- NetSuite ------------------------------------------------------------------------


def test_netsuite_company_on_the_redirect_and_its_revocation_endpoint(
    app: Flask, vendors: Flask, replay: VendorReplay
) -> None:
    facts = vendor("netsuite")["facts"]
    netsuite = PLATFORMS["netsuite"]
    with app.app_context():
        app.config["NETSUITE_ACCOUNT_ID"] = "1234567"
        documented = (
            facts["revocation_url"]["value"].split(" ")[0].replace("<accountID>", "1234567")
        )
        assert expand(netsuite, netsuite.revocation_url or "") == documented
    found = provider(vendors, "netsuite")
    example = vendor("netsuite")["samples"]["callback_query"]["example"]
    params = {k: v[0] for k, v in parse_qs(urlsplit(example).query).items()}
    assert found.revocation_url is not None
    replay.answer("POST", found.revocation_url, {})
    with vendors.test_request_context():
        assert discover_organisations(found, TOKEN, params) == [
            Organisation("TSTDRVXXXXXX", "TSTDRVXXXXXX")
        ]
        revoke_tokens(found, TOKEN)
    sent = replay.requests_to(found.revocation_url)
    assert [s.form["token"] for s in sent] == ["rt-1"]
    assert sent[0].headers["Authorization"].startswith("Basic ")


# --- Business Central ----------------------------------------------------------------


def test_business_central_companies_of_every_environment(
    vendors: Flask, replay: VendorReplay
) -> None:
    found = provider(vendors, "business_central")
    shape = vendor("business_central")["samples"]["environments_response_shape"]
    assert found.environments_url is not None

    def environment(name: str, kind: str) -> dict[str, str]:
        return {field: "" for field in shape["fields"]} | {"name": name, "type": kind}

    replay.answer(
        "GET",
        found.environments_url,
        {
            shape["wrapper"]: [
                environment("production", "Production"),
                environment("uat", "Sandbox"),
            ]
        },
    )
    company = sample("business_central", "company")
    for name in ("production", "uat"):
        replay.answer(
            "GET", found.organisation_url.replace("{environment}", name), {"value": [company]}
        )
    with vendors.app_context():
        organisations = discover_organisations(found, TOKEN, {})
    assert organisations == [
        Organisation(company["id"], "CRONUS USA, Inc. (production)", {"environment": "production"}),
        Organisation(company["id"], "CRONUS USA, Inc. (uat)", {"environment": "uat"}),
    ]


def test_business_central_environment_setting_pins_one(
    vendors: Flask, replay: VendorReplay
) -> None:
    vendors.config["BUSINESS_CENTRAL_ENVIRONMENT"] = "uat"
    found = provider(vendors, "business_central")
    company = sample("business_central", "company")
    replay.answer(
        "GET", found.organisation_url.replace("{environment}", "uat"), {"value": [company]}
    )
    with vendors.app_context():
        organisations = discover_organisations(found, TOKEN, {})
    assert organisations == [
        Organisation(company["id"], "CRONUS USA, Inc.", {"environment": "uat"})
    ]
    assert found.environments_url is not None
    assert replay.requests_to(found.environments_url) == []


# --- Webhooks: Xero and QuickBooks, in the vendors' current formats ---------------------

WEBHOOK_KEYS = {"xero": "xero-webhook-key", "quickbooks": "intuit-verifier-token"}
SIGNATURE_HEADERS = {"xero": "x-xero-signature", "quickbooks": "intuit-signature"}
WEBHOOK_SAMPLES = {
    "xero": ("webhook_event", "c2cc9b6e-9458-4c7d-93cc-f02b81b0594f"),
    "quickbooks": ("webhook_cloudevents", "310687"),
}


def _signed(key: str, body: bytes, secret: str) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return {SIGNATURE_HEADERS[key]: base64.b64encode(digest).decode()}


@pytest.mark.parametrize("key", sorted(WEBHOOK_SAMPLES))
def test_a_signed_event_in_the_vendors_current_format_is_accepted(app: Flask, key: str) -> None:
    app.config["XERO_WEBHOOK_KEY"] = WEBHOOK_KEYS["xero"]
    app.config["QUICKBOOKS_WEBHOOK_VERIFIER"] = WEBHOOK_KEYS["quickbooks"]
    name, organisation = WEBHOOK_SAMPLES[key]
    body = json.dumps(sample(key, name)).encode()
    if key == "xero":
        jsonschema.validate(json.loads(body), _xero_schema("WebhookEvent"))
    with app.app_context():
        _linked(app, key, TOKEN, org_id=organisation)
    client = app.test_client()
    forged = client.post(
        f"/webhooks/platforms/{key}", data=body, headers=_signed(key, body, "not-the-key")
    )
    assert forged.status_code == 401
    accepted = client.post(
        f"/webhooks/platforms/{key}", data=body, headers=_signed(key, body, WEBHOOK_KEYS[key])
    )
    assert accepted.status_code == 200, accepted.json
    assert accepted.json == {"received": True, "connections": 1}


def test_a_legacy_quickbooks_event_is_still_read(app: Flask) -> None:
    app.config["QUICKBOOKS_WEBHOOK_VERIFIER"] = WEBHOOK_KEYS["quickbooks"]
    body = json.dumps(sample("quickbooks", "webhook_legacy")).encode()
    with app.app_context():
        _linked(app, "quickbooks", TOKEN, org_id="310687")
    answered = app.test_client().post(
        "/webhooks/platforms/quickbooks",
        data=body,
        headers=_signed("quickbooks", body, WEBHOOK_KEYS["quickbooks"]),
    )
    assert answered.json == {"received": True, "connections": 1}


# --- Helpers -------------------------------------------------------------------------


def _xero_schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = vendor("xero")["schema"]
    definitions = {"Connection": schema["Connection"]}
    found = json.loads(
        json.dumps(schema[name]).replace("#/components/schemas/Connection", "#/$defs/Connection")
    )
    return {**found, "$defs": definitions}


def _linked(app: Flask, platform: str, token: dict[str, Any], org_id: str = "org-1") -> int:
    """A linked connection holding ``token``, due for refresh; its id."""
    customer = Customer(name="Acme", email="a@acme.example")
    db.session.add(customer)
    db.session.flush()
    connection = Connection(
        customer_id=customer.id,
        platform=platform,
        status="linked",
        org_id=org_id,
        token_ciphertext=encrypt_json(token),
        token_expires_at=clock.now() + timedelta(seconds=30),
    )
    db.session.add(connection)
    db.session.commit()
    return int(connection.id)


def test_every_platform_is_reached_only_through_its_documented_hosts() -> None:
    """The catalogue's own endpoints match the vendors' confirmed facts."""
    for key in PLATFORMS:
        if key == "sandbox":
            continue
        facts = vendor(key)["facts"]
        platform = PLATFORMS[key]
        for field in ("authorize_url", "token_url"):
            documented = facts.get(field, {}).get("value")
            ours = getattr(platform, field)
            if isinstance(documented, str) and "{" not in ours and "<" not in documented:
                assert ours == documented, (key, field)


def _documented_url(key: str, fact: str, **values: str) -> str:
    """A documented endpoint with its placeholders (``{name}`` or ``<name>``) filled in."""
    url: str = vendor(key)["facts"][fact]["value"].split(" ")[0]
    for name, value in values.items():
        url = url.replace("{" + name + "}", value).replace("<" + name + ">", value)
    return url


# (platform, settings, the placeholders of the vendor's documented URLs)
TEMPLATED = [
    ("freeagent", {"FREEAGENT_ENVIRONMENT": "production"}, {}),
    ("zoho_books", {"ZOHO_BOOKS_REGION": "eu"}, {"region": "eu"}),
    ("netsuite", {"NETSUITE_ACCOUNT_ID": "1234567"}, {"accountID": "1234567"}),
    ("business_central", {}, {"tenant": "organizations"}),
]


@pytest.mark.parametrize(("key", "settings", "values"), TEMPLATED, ids=[t[0] for t in TEMPLATED])
def test_endpoints_built_from_settings_are_the_documented_ones(
    app: Flask, key: str, settings: dict[str, str], values: dict[str, str]
) -> None:
    """The endpoints a setting fills in (environment, data centre, account, tenant) are
    exactly the URLs the vendor documents."""
    platform = PLATFORMS[key]
    app.config.update(settings)
    facts = vendor(key)["facts"]
    with app.app_context():
        for fact in ("authorize_url", "token_url", "revocation_url"):
            ours = getattr(platform, fact)
            assert (ours is None) == (fact not in facts), (key, fact)
            if ours is not None:
                assert expand(platform, ours) == _documented_url(key, fact, **values), fact


def test_netsuite_authorize_sends_pkce_s256_and_documented_scopes(vendors: Flask) -> None:
    """NetSuite refuses PKCE's plain method (its state rule, 22 to 1,024 characters, is
    met by Onramp's 43 and enforced by the Sandbox playing NetSuite)."""
    found = provider(vendors, "netsuite")
    with vendors.test_request_context():
        url = authorization_url(found, "https://onramp.example/cb", "s" * 43, "v" * 50)
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert query["code_challenge_method"] == "S256" and query["code_challenge"]
    assert set(query["scope"].split(" ")) <= set(vendor("netsuite")["facts"]["scopes"]["value"])


def _xero_users_schema() -> dict[str, Any]:
    schema: dict[str, Any] = vendor("xero")["schema"]
    found = json.loads(
        json.dumps(schema["Users"]).replace("#/components/schemas/User", "#/$defs/User")
    )
    # Xero's User lists no required fields: every one the Sandbox sends must be Xero's.
    user = {**schema["User"], "additionalProperties": False}
    return {**found, "$defs": {"User": user}}


def test_xero_users_report_each_user_s_organisation_role() -> None:
    """Xero's Users endpoint names each user's OrganisationRole; the Sandbox playing Xero
    answers in the same shape, with a role from Xero's own list for every test login."""
    from app.sandbox.data import BLUEBELL
    from app.sandbox.lookups import xero_users

    documented = sample("xero", "users_response")
    jsonschema.validate(documented, _xero_users_schema())

    played = xero_users(BLUEBELL, clock.now())

    jsonschema.validate(played, _xero_users_schema())
    assert {user["OrganisationRole"] for user in played["Users"]} == {
        "STANDARD",
        "FINANCIALADVISER",
        "INVOICEONLY",
    }
    allowed = vendor("xero")["schema"]["User"]["properties"]["OrganisationRole"]["enum"]
    assert {"READONLY", "INVOICEONLY", "STANDARD", "FINANCIALADVISER"} <= set(allowed)

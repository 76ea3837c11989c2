"""Each vendor's organisation look-up as the Sandbox plays it: the vendor's shape, its
ids, and only for a live token issued in that same dialect."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import update

from app.sandbox import storage
from app.sandbox.data import DEMO
from app.sandbox.dialects import dialect_organisation_id
from app.sandbox.storage import utcnow
from app.sandbox.tables import SandboxToken
from tests.sandbox.conftest import BLUEBELL, Vendor, json_of

Vendors = Callable[[str], Vendor]
ACME, NORTHWIND = DEMO.organisations[0], DEMO.organisations[2]
# (platform, look-up path): a GET that a live token of that platform opens.
LOOKUPS = [
    ("xero", "/connections"),
    ("sage", "/v3.1/businesses"),
    ("freeagent", "/v2/company"),
    ("freshbooks", "/auth/api/v1/users/me"),
    ("zoho_books", "/books/v3/organizations"),
    ("business_central", "/environments/v1.2"),
]


def test_xero_lists_connections_whose_id_is_not_the_tenant_id(vendor: Vendors) -> None:
    xero = vendor("xero")
    tokens = xero.connect()

    connections = json_of(xero.get("/connections", tokens["access_token"]))

    assert isinstance(connections, list)
    [connection] = connections
    assert set(connection) == {
        "id",
        "tenantId",
        "tenantName",
        "tenantType",
        "authEventId",
        "createdDateUtc",
        "updatedDateUtc",
    }
    assert connection["tenantId"] == dialect_organisation_id("xero", BLUEBELL)
    assert connection["tenantName"] == BLUEBELL.name
    assert connection["tenantType"] == "ORGANISATION"
    assert connection["id"] != connection["tenantId"]


def test_xero_lists_every_organisation_connected_and_filters_by_auth_event(
    vendor: Vendors,
) -> None:
    xero = vendor("xero")
    first = xero.connect(ACME.id)
    second = xero.connect(NORTHWIND.id)

    every = json_of(xero.get("/connections", second["access_token"]))
    [only] = [c for c in every if c["tenantId"] == dialect_organisation_id("xero", NORTHWIND)]
    filtered = json_of(
        xero.get(
            "/connections", first["access_token"], query_string={"authEventId": only["authEventId"]}
        )
    )

    assert {c["tenantName"] for c in every} == {ACME.name, NORTHWIND.name}
    assert filtered == [only]


def test_xero_disconnecting_a_connection_ends_its_tokens(vendor: Vendors) -> None:
    xero = vendor("xero")
    tokens = xero.connect()
    [connection] = json_of(xero.get("/connections", tokens["access_token"]))
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}

    by_tenant = xero.backend.delete(
        xero.path(f"/connections/{connection['tenantId']}"), headers=auth
    )
    by_id = xero.backend.delete(xero.path(f"/connections/{connection['id']}"), headers=auth)

    assert by_tenant.status_code == 404
    assert by_id.status_code == 204
    assert xero.get("/connections", tokens["access_token"]).status_code == 401
    assert json_of(xero.refresh(tokens["refresh_token"]))["error"] == "invalid_grant"


def test_quickbooks_company_info_answers_for_the_tokens_realm_only(vendor: Vendors) -> None:
    quickbooks = vendor("quickbooks")
    tokens = quickbooks.connect()
    realm = dialect_organisation_id("quickbooks", BLUEBELL)
    other = dialect_organisation_id("quickbooks", ACME)

    own = quickbooks.get(f"/v3/company/{realm}/companyinfo/{realm}", tokens["access_token"])
    elsewhere = quickbooks.get(f"/v3/company/{other}/companyinfo/{other}", tokens["access_token"])

    body = json_of(own)
    assert body["CompanyInfo"]["CompanyName"] == BLUEBELL.name
    assert "Id" in body["CompanyInfo"]
    assert "time" in body
    assert elsewhere.status_code == 403


def test_sage_lists_every_business_of_the_user(vendor: Vendors) -> None:
    sage = vendor("sage")
    tokens = sage.connect()

    body = json_of(sage.get("/v3.1/businesses", tokens["access_token"]))

    assert set(body) == {"$total", "$page", "$next", "$back", "$items_per_page", "$items"}
    assert body["$total"] == len(DEMO.organisations)
    ids = [dialect_organisation_id("sage", org) for org in DEMO.organisations]
    assert [item["id"] for item in body["$items"]] == ids
    assert [item["displayed_as"] for item in body["$items"]] == [o.name for o in DEMO.organisations]
    assert [item["$path"] for item in body["$items"]] == [f"/businesses/{i}" for i in ids]


def test_freeagent_names_the_tokens_company_by_a_numeric_id(vendor: Vendors) -> None:
    freeagent = vendor("freeagent")
    tokens = freeagent.connect()

    company = json_of(freeagent.get("/v2/company", tokens["access_token"]))["company"]

    assert company["id"] == dialect_organisation_id("freeagent", BLUEBELL)
    assert company["id"].isdigit()
    assert company["name"] == BLUEBELL.name
    assert company["url"] == "http://localhost/sandbox/v/freeagent/v2/company"
    assert company["subdomain"]


def test_freshbooks_lists_business_memberships_with_integer_ids(vendor: Vendors) -> None:
    freshbooks = vendor("freshbooks")
    tokens = freshbooks.connect()

    me = json_of(freshbooks.get("/auth/api/v1/users/me", tokens["access_token"]))["response"]

    memberships = me["business_memberships"]
    assert [m["role"] for m in memberships] == ["owner"] * len(DEMO.organisations)
    businesses = [m["business"] for m in memberships]
    assert all(isinstance(b["id"], int) for b in businesses)
    assert [str(b["id"]) for b in businesses] == [
        dialect_organisation_id("freshbooks", org) for org in DEMO.organisations
    ]
    assert all(b["business_uuid"] and b["account_id"] and b["name"] for b in businesses)


def test_zoho_lists_organizations_at_its_api_domain(vendor: Vendors) -> None:
    zoho = vendor("zoho_books")
    tokens = zoho.connect()
    path = tokens["api_domain"].removeprefix("http://localhost") + "/books/v3/organizations"

    body = json_of(
        zoho.backend.get(
            path, headers={"Authorization": f"Zoho-oauthtoken {tokens['access_token']}"}
        )
    )

    assert (body["code"], body["message"]) == (0, "success")
    assert [o["organization_id"] for o in body["organizations"]] == [
        dialect_organisation_id("zoho_books", org) for org in DEMO.organisations
    ]
    assert [o["is_default_org"] for o in body["organizations"]] == [True, False, False]


def test_wave_answers_the_businesses_query_with_base64_node_ids(vendor: Vendors) -> None:
    wave = vendor("wave")
    tokens = wave.connect()
    query = "query { businesses(page: 1, pageSize: 10) { edges { node { id name isPersonal } } } }"

    answer = wave.backend.post(
        wave.path("/graphql/public"),
        json={"query": query},
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )

    businesses = json_of(answer)["data"]["businesses"]
    assert "pageInfo" in businesses
    nodes = [edge["node"] for edge in businesses["edges"]]
    assert [n["id"] for n in nodes] == [
        dialect_organisation_id("wave", o) for o in DEMO.organisations
    ]
    assert base64.b64decode(nodes[0]["id"]).startswith(b"Business:")
    assert [n["isPersonal"] for n in nodes] == [False] * len(DEMO.organisations)


def test_wave_answers_other_queries_and_bad_tokens_with_graphql_errors(vendor: Vendors) -> None:
    wave = vendor("wave")
    tokens = wave.connect()
    auth = {"Authorization": f"Bearer {tokens['access_token']}"}

    other = wave.backend.post(
        wave.path("/graphql/public"), json={"query": "{ user { id } }"}, headers=auth
    )
    unauthenticated = wave.backend.post(
        wave.path("/graphql/public"), json={"query": "{ businesses { edges { node { id } } } }"}
    )

    for answer in (other, unauthenticated):
        [error] = json_of(answer)["errors"]
        assert error["message"]
        assert error["extensions"]["code"]
    assert unauthenticated.status_code == 401


def test_business_central_splits_companies_between_two_environments(vendor: Vendors) -> None:
    bc = vendor("business_central")
    tokens = bc.connect()

    environments = json_of(bc.get("/environments/v1.2", tokens["access_token"]))["value"]
    by_name = {e["name"]: e for e in environments}
    companies = {
        name: json_of(bc.get(f"/v2.0/{name}/api/v2.0/companies", tokens["access_token"]))
        for name in by_name
    }

    assert {e["type"] for e in environments} == {"Production", "Sandbox"}
    assert by_name["production"]["type"] == "Production"
    for environment in environments:
        assert {"aadTenantId", "applicationFamily", "countryCode", "webServiceUrl"} <= set(
            environment
        )
    listed = [c for body in companies.values() for c in body["value"]]
    assert sorted(c["id"] for c in listed) == sorted(
        dialect_organisation_id("business_central", org) for org in DEMO.organisations
    )
    assert all(len(body["value"]) < len(DEMO.organisations) for body in companies.values())
    assert all("@odata.context" in body for body in companies.values())
    for company in listed:
        assert {
            "id",
            "systemVersion",
            "timestamp",
            "name",
            "displayName",
            "businessProfileId",
        } <= set(company)
    tenant = environments[0]["aadTenantId"]
    with_tenant = bc.get(f"/v2.0/{tenant}/production/api/v2.0/companies", tokens["access_token"])
    assert json_of(with_tenant)["value"] == companies["production"]["value"]


def test_business_central_answers_an_unknown_environment_with_an_odata_error(
    vendor: Vendors,
) -> None:
    bc = vendor("business_central")
    tokens = bc.connect()

    missing = bc.get("/v2.0/no-such-environment/api/v2.0/companies", tokens["access_token"])

    assert missing.status_code == 404
    assert set(json_of(missing)["error"]) == {"code", "message"}


@pytest.mark.parametrize(("key", "path"), LOOKUPS, ids=[k for k, _ in LOOKUPS])
def test_a_look_up_refuses_a_missing_or_made_up_token(vendor: Vendors, key: str, path: str) -> None:
    client = vendor(key)

    assert client.backend.get(client.path(path)).status_code == 401
    assert client.get(path, "made-up").status_code == 401


def test_a_xero_token_is_refused_by_the_sage_look_up_and_the_sandboxs_own_api(
    vendor: Vendors,
) -> None:
    xero, sage = vendor("xero"), vendor("sage")
    tokens = xero.connect()

    assert sage.get("/v3.1/businesses", tokens["access_token"]).status_code == 401
    native = xero.backend.get(
        "/sandbox/api/organisation", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert native.status_code == 401


@pytest.mark.parametrize(("key", "path"), LOOKUPS, ids=[k for k, _ in LOOKUPS])
def test_an_expired_token_is_refused(vendor: Vendors, sandbox: Flask, key: str, path: str) -> None:
    client = vendor(key)
    tokens = client.connect()
    with sandbox.app_context():
        storage.session().execute(
            update(SandboxToken)
            .filter_by(access_token=tokens["access_token"])
            .values(issued_at=utcnow() - timedelta(days=1))
        )
        storage.session().commit()

    assert client.get(path, tokens["access_token"]).status_code == 401

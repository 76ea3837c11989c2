"""Revoking tokens at the vendors that document a revocation endpoint: Xero,
QuickBooks, NetSuite and Zoho; and none at the others."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from werkzeug.test import TestResponse

from app.sandbox.dialects import DIALECTS, VENDOR_DIALECTS
from tests.sandbox.conftest import CLIENT_ID, CLIENT_SECRET, Vendor, json_of

Vendors = Callable[[str], Vendor]
BASIC_AUTH = (CLIENT_ID, CLIENT_SECRET)
# A look-up each of these vendors answers, to see whether an access token still works.
STILL_WORKS = {"xero": "/connections", "zoho_books": "/books/v3/organizations"}


def revoke(client: Vendor, token: str) -> TestResponse:
    path = client.path(client.dialect.revoke_path or "")
    if client.key == "quickbooks":
        return client.backend.post(path, json={"token": token}, auth=BASIC_AUTH)
    if client.key == "zoho_books":
        return client.backend.post(path, query_string={"token": token})
    return client.backend.post(path, data={"token": token}, auth=BASIC_AUTH)


@pytest.mark.parametrize("key", ["xero", "quickbooks", "netsuite", "zoho_books"])
def test_revoking_the_refresh_token_ends_the_whole_grant(vendor: Vendors, key: str) -> None:
    client = vendor(key)
    tokens = client.connect()

    ended = revoke(client, tokens["refresh_token"])
    again = revoke(client, tokens["access_token"])

    assert ended.status_code == 200
    if client.dialect.refuses_ended_tokens:
        # Documented as ending the grant: a second revoke is refused.
        assert again.status_code == 400
        assert json_of(again)["error"] == "invalid_token"
    else:
        assert again.status_code == 200  # RFC 7009 §2.2: nothing to revoke is no error
    assert json_of(client.refresh(tokens["refresh_token"]))["error"] == "invalid_grant"
    if key in STILL_WORKS:
        assert client.get(STILL_WORKS[key], tokens["access_token"]).status_code == 401


def test_revoking_an_access_token_ends_that_token_only(vendor: Vendors) -> None:
    xero = vendor("xero")
    tokens = xero.connect()

    assert revoke(xero, tokens["access_token"]).status_code == 200

    assert xero.get("/connections", tokens["access_token"]).status_code == 401
    assert xero.refresh(tokens["refresh_token"]).status_code == 200


def test_quickbooks_revocation_wants_a_json_body(vendor: Vendors) -> None:
    quickbooks = vendor("quickbooks")
    tokens = quickbooks.connect()
    path = quickbooks.path("/v2/oauth2/tokens/revoke")

    form = quickbooks.backend.post(path, data={"token": tokens["refresh_token"]}, auth=BASIC_AUTH)

    assert form.status_code == 400
    assert quickbooks.refresh(tokens["refresh_token"]).status_code == 200


@pytest.mark.parametrize("key", ["xero", "quickbooks", "netsuite"])
def test_revocation_needs_the_client_basic_credentials(vendor: Vendors, key: str) -> None:
    client = vendor(key)
    tokens = client.connect()
    path = client.path(client.dialect.revoke_path or "")

    refused = client.backend.post(
        path,
        data={
            "token": tokens["refresh_token"],
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
    )

    assert refused.status_code == 401
    assert json_of(refused)["error"] == "invalid_client"


def test_a_token_of_another_vendor_cannot_be_revoked_here(vendor: Vendors) -> None:
    xero, netsuite = vendor("xero"), vendor("netsuite")
    tokens = netsuite.connect()

    assert revoke(xero, tokens["refresh_token"]).status_code == 400
    assert netsuite.refresh(tokens["refresh_token"]).status_code == 200


@pytest.mark.parametrize("key", [k for k in VENDOR_DIALECTS if DIALECTS[k].revoke_path is None])
def test_vendors_without_a_documented_revocation_endpoint_have_none(
    vendor: Vendors, key: str
) -> None:
    client = vendor(key)

    for path in ("/revoke", "/oauth2/revoke", "/connect/revocation"):
        assert client.backend.post(client.path(path), data={"token": "x"}).status_code in (404, 405)

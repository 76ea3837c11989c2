"""The dialects over real HTTP, and mounted inside Onramp under /sandbox/v."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from flask import Flask
from flask.testing import FlaskClient

from app.sandbox.data import ORGANISATIONS
from app.sandbox.dialects import dialect_organisation_id
from tests.integration.conftest import LiveSandbox, live_sandbox
from tests.sandbox.conftest import CLIENT_ID

__all__ = ["live_sandbox"]


def test_a_vendor_client_connects_over_http_with_the_live_sandboxs_consent_helper(
    live_sandbox: LiveSandbox,
) -> None:
    base = f"{live_sandbox.url}/v/quickbooks"
    secret = live_sandbox.app.config["SANDBOX_CLIENT_SECRET"]
    query = urlencode(
        {
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": "http://localhost/connect/quickbooks/callback",
            "scope": "com.intuit.quickbooks.accounting",
            "state": "a-state-for-quickbooks",
        }
    )

    callback = live_sandbox.authorize(f"{base}/connect/oauth2?{query}", organisation=1)
    back = {k: v[0] for k, v in parse_qs(urlsplit(callback).query).items()}
    tokens = requests.post(
        f"{base}/oauth2/v1/tokens/bearer",
        data={
            "grant_type": "authorization_code",
            "code": back["code"],
            "redirect_uri": "http://localhost/connect/quickbooks/callback",
        },
        auth=(CLIENT_ID, secret),
        timeout=10,
    ).json()
    realm = back["realmId"]
    info = requests.get(
        f"{base}/v3/company/{realm}/companyinfo/{realm}",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
        timeout=10,
    )

    assert realm == dialect_organisation_id("quickbooks", ORGANISATIONS[1])
    assert info.json()["CompanyInfo"]["CompanyName"] == ORGANISATIONS[1].name


def test_mounted_in_onramp_the_dialects_answer_under_sandbox_v(client: FlaskClient) -> None:
    refused = client.get("/sandbox/v/xero/connections")
    token = client.post("/sandbox/v/sage/token", data={"grant_type": "authorization_code"})

    assert refused.status_code == 401
    assert token.status_code == 401
    assert token.get_json()["error"] == "invalid_client"


def test_vendor_machine_endpoints_need_no_csrf_token(build_sandbox: Callable[..., Flask]) -> None:
    sandbox = build_sandbox(WTF_CSRF_ENABLED=True)
    backend = sandbox.test_client(use_cookies=False)

    token = backend.post("/sandbox/v/sage/token", data={"grant_type": "authorization_code"})
    revoke = backend.post("/sandbox/v/xero/connect/revocation", data={"token": "x"})
    graphql = backend.post("/sandbox/v/wave/graphql/public", json={"query": "{ businesses }"})

    assert [token.status_code, revoke.status_code, graphql.status_code] == [401, 401, 401]

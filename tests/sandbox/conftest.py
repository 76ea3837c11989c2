"""Driving the Sandbox in each vendor's dialect, as that vendor's API client would.

``Vendor`` is a vendor's client and a customer's browser at once: it builds the
authorization request at the vendor's path (host swapped for the Sandbox), signs in
and answers the consent screen, exchanges the code with the vendor's client
authentication and calls the vendor's look-up.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from app.sandbox.data import ORGANISATIONS, SANDBOX_LOGIN_EMAIL, SANDBOX_LOGIN_PASSWORD
from app.sandbox.dialects import BASIC, DIALECTS, NATIVE, Dialect

# The existing sandbox tests' app builder: settings of a test, connections closed after.
from tests.integration.test_sandbox import build_sandbox

__all__ = ["build_sandbox"]

CLIENT_ID = "onramp-sandbox-client"
CLIENT_SECRET = "test-sandbox-client-secret"
SANDBOX_URL = "http://localhost/sandbox"
BLUEBELL = ORGANISATIONS[1]
# Business Central's token and authorize paths name the Entra tenant; "organizations"
# is Microsoft's for any work or school account.
PATH_VALUES = {"tenant": "organizations"}
# What each vendor's client asks for: scopes the vendor documents, and for Zoho the
# parameter that earns a refresh token.
ASKS: dict[str, dict[str, str]] = {
    NATIVE: {"scope": "accounting.read offline_access"},
    "xero": {"scope": "offline_access accounting.settings.read"},
    "quickbooks": {"scope": "com.intuit.quickbooks.accounting"},
    "sage": {"scope": "full_access"},
    "freeagent": {},
    "myob": {"scope": "sme-company-file sme-general-ledger"},
    "netsuite": {"scope": "rest_webservices"},
    "freshbooks": {"scope": "user:profile:read"},
    "zoho_books": {
        "scope": "ZohoBooks.settings.READ,ZohoBooks.invoices.READ",
        "access_type": "offline",
    },
    "wave": {"scope": "business:read account:read"},
    "business_central": {
        "scope": "https://api.businesscentral.dynamics.com/.default offline_access"
    },
}


def redirect_uri(key: str) -> str:
    return f"http://localhost/connect/{key}/callback"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def json_of(response: TestResponse) -> Any:
    assert response.is_json, response.get_data(as_text=True)
    return response.get_json()


@dataclass
class Vendor:
    """One vendor's API client (``backend``) and the customer's browser (``customer``)."""

    key: str
    customer: FlaskClient
    backend: FlaskClient
    verifier: str | None = field(default=None)
    # The test login the customer signs in with.
    email: str = SANDBOX_LOGIN_EMAIL
    password: str = SANDBOX_LOGIN_PASSWORD

    @property
    def dialect(self) -> Dialect:
        return DIALECTS[self.key]

    def path(self, rule: str) -> str:
        """The Sandbox path standing in for the vendor's ``rule``."""
        for name, value in PATH_VALUES.items():
            rule = rule.replace(f"<{name}>", value)
        if self.key == NATIVE:
            return f"/sandbox{rule}"  # the Sandbox speaking for itself
        return f"/sandbox/v/{self.key}{rule}"

    def authorize_url(self, pkce: bool = True, **params: str | None) -> str:
        """The vendor's authorization request; ``params`` add to or (None) remove from it."""
        query: dict[str, str | None] = {
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": redirect_uri(self.key),
            "state": secrets.token_urlsafe(24),
            **ASKS[self.key],
        }
        if pkce:
            self.verifier, challenge = pkce_pair()
            query.update(code_challenge=challenge, code_challenge_method="S256")
        query.update(params)
        kept = {k: v for k, v in query.items() if v is not None}
        return f"{self.path(self.dialect.authorize_path)}?{urlencode(kept)}"

    def consent_page(self, url: str) -> str:
        """Sign in (if need be) and return the consent screen."""
        self.customer.post(
            url,
            data={
                "email": self.email,
                "password": self.password,
                "sign_in": "Sign in",
            },
        )
        return self.customer.get(url).get_data(as_text=True)

    def approve(self, url: str, organisation_id: str = BLUEBELL.id) -> dict[str, str]:
        """Sign in, choose the organisation and approve: the query sent back to the app."""
        self.consent_page(url)
        return back(
            self.customer.post(url, data={"organisation": organisation_id, "approve": "Approve"}),
            self.key,
        )

    def token_request(self, data: dict[str, str], method: str | None = None) -> TestResponse:
        """POST to the vendor's token endpoint, authenticating the vendor's way (or ``method``)."""
        method = method or self.dialect.client_auth[0]
        if method == BASIC:
            return self.backend.post(
                self.path(self.dialect.token_path), data=data, auth=(CLIENT_ID, CLIENT_SECRET)
            )
        posted = {**data, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
        return self.backend.post(self.path(self.dialect.token_path), data=posted)

    def exchange(self, code: str, method: str | None = None, **extra: str) -> TestResponse:
        data = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri(self.key),
        }
        if self.verifier:
            data["code_verifier"] = self.verifier
        return self.token_request({**data, **extra}, method)

    def refresh(self, refresh_token: str) -> TestResponse:
        return self.token_request({"grant_type": "refresh_token", "refresh_token": refresh_token})

    def connect(self, organisation_id: str = BLUEBELL.id, **params: str | None) -> dict[str, Any]:
        """The whole happy path: authorize, approve, exchange; the token response."""
        code = self.approve(self.authorize_url(**params), organisation_id)["code"]
        response = self.exchange(code)
        assert response.status_code == 200, response.get_data(as_text=True)
        tokens: dict[str, Any] = json_of(response)
        return tokens

    def get(
        self, rule: str, access_token: str, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> TestResponse:
        sent = {"Authorization": f"Bearer {access_token}", **(headers or {})}
        return self.backend.get(self.path(rule), headers=sent, **kwargs)


def back(response: TestResponse, key: str) -> dict[str, str]:
    """The query the customer is sent back to the app's callback with."""
    assert response.status_code == 302, response.get_data(as_text=True)
    location = urlsplit(response.location)
    assert f"{location.scheme}://{location.netloc}{location.path}" == redirect_uri(key)
    return {name: values[0] for name, values in parse_qs(location.query).items()}


@pytest.fixture
def sandbox(build_sandbox: Callable[..., Flask]) -> Flask:
    """A standalone sandbox whose client may come back to any platform's callback."""
    return build_sandbox(SANDBOX_REDIRECT_URIS=[redirect_uri(key) for key in DIALECTS])


@pytest.fixture
def vendor(sandbox: Flask) -> Callable[[str], Vendor]:
    """A vendor's client and a customer's browser against the sandbox, by platform key."""

    def make(key: str) -> Vendor:
        return Vendor(key, sandbox.test_client(), sandbox.test_client(use_cookies=False))

    return make

"""Finding the connected organisation the way each platform names it."""

from __future__ import annotations

import pytest

from app.connections.oauth import (
    Organisation,
    ProviderConfig,
    ProviderError,
    discover_organisations,
)
from app.platforms import OrganisationLookup, dig


def _provider(**spec: str) -> ProviderConfig:
    return ProviderConfig(
        platform="x",
        issuer="",
        authorize_url="https://x.example/authorize",
        token_url="https://x.example/token",
        organisation_url="",
        organisation=OrganisationLookup.model_validate(spec),
        client_id="id",
        client_secret="secret",
        scopes=(),
    )


def test_an_organisation_named_on_the_redirect() -> None:
    provider = _provider(strategy="redirect_param", id="businessId", name_param="businessName")
    found = discover_organisations(provider, {}, {"businessId": "b-1", "businessName": "Acme"})
    assert found == [Organisation("b-1", "Acme")]


def test_a_redirect_without_the_organisation_fails_clearly() -> None:
    provider = _provider(strategy="redirect_param", id="realmId")
    with pytest.raises(ProviderError) as failed:
        discover_organisations(provider, {}, {})
    assert failed.value.reason == "organisation_lookup_failed"
    assert "realmId" in failed.value.detail


def test_an_organisation_named_in_the_token() -> None:
    provider = _provider(strategy="token_field", id="businessId")
    assert discover_organisations(provider, {"businessId": "w-9"}, {}) == [
        Organisation("w-9", "w-9")
    ]


def test_dotted_paths_reach_into_nested_json() -> None:
    body = {"CompanyInfo": {"CompanyName": "Bluebell"}, "list": [1]}
    assert dig(body, "CompanyInfo.CompanyName") == "Bluebell"
    assert dig(body, "CompanyInfo.Missing") is None
    assert dig(body, "list.0") is None
    assert dig(body, None) is None

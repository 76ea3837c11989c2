"""Catalogue overrides that make the built-in Sandbox stand in for a platform.

Shared by the integration and browser tests; see app/sandbox/oauth.py ``quirks_of``.
"""

from __future__ import annotations

from typing import Any

from app.platforms import Platform

# The Sandbox answering like Xero: a list of every organisation the token reaches.
SANDBOX_LIST = {
    "strategy": "list_api",
    "url": "{sandbox_url}/api/organisations",
    "list": "organisations",
    "id": "id",
    "name": "name",
}
LIST_ORGANISATIONS = {"sandbox": {"organisation": SANDBOX_LIST}}


def impersonation(platform: Platform) -> dict[str, Any]:
    """Overrides that point a platform at the Sandbox, keeping its quirks: how it
    names the organisation, its extra parameters and its client authentication."""
    spec = platform.organisation
    overrides: dict[str, Any] = {
        "authorize_url": "{sandbox_url}/authorize",
        "token_url": "{sandbox_url}/token",
        "revocation_url": "{sandbox_url}/revoke",
        "issuer": "{sandbox_url}",
        "scopes": ["accounting.read", "offline_access"],
        "pkce": True,  # the Sandbox asks PKCE of every client
    }
    organisation = spec.model_dump()
    extra = dict(platform.extra_params)
    if spec.strategy == "api":
        organisation.update(url="{sandbox_url}/api/organisation", id="id", name="name")
    elif spec.strategy == "list_api":
        organisation.update(SANDBOX_LIST)
    elif spec.strategy == "redirect_param":
        extra["sandbox_org_param"] = spec.id
        if spec.name_param:
            extra["sandbox_org_name_param"] = spec.name_param
        if spec.name_url:
            organisation.update(name_url="{sandbox_url}/api/organisation?id={id}", name="name")
    else:
        extra["sandbox_token_field"] = spec.id
    overrides.update(organisation=organisation, extra_params=extra)
    return overrides

"""The OAuth 2.0 client side: authorization URLs, code exchange and the organisation look-up.

Every provider, the built-in Sandbox included, is reached over HTTP with timeouts,
so a slow provider holds up one request, never the others.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.requests_client import OAuth2Session
from flask import current_app

from app.platforms import (
    OrganisationLookup,
    credentials,
    effective,
    expand,
    get_platform,
    is_available,
)
from app.urls import public_url


class ProviderError(Exception):
    """A provider call that failed; ``reason`` is a stable code for the failure."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class ProviderConfig:
    platform: str
    issuer: str
    authorize_url: str
    token_url: str
    organisation_url: str
    organisation: OrganisationLookup
    client_id: str
    client_secret: str
    scopes: tuple[str, ...]
    revocation_url: str | None = None
    organisation_name_url: str | None = None
    pkce: bool = True
    token_auth: str = "client_secret_basic"
    extra_params: tuple[tuple[str, str], ...] = ()
    # The redirect back must carry ``iss`` (RFC 9207).
    requires_iss: bool = False


def provider_config(platform_key: str) -> ProviderConfig | None:
    """Endpoints and credentials for a platform that can be connected on this instance."""
    known = get_platform(platform_key)
    if known is None or not is_available(known):
        return None
    platform = effective(known)
    client = credentials(platform)
    authorize = expand(platform, platform.authorize_url)
    token = expand(platform, platform.token_url)
    organisation = expand(platform, platform.organisation.url or "")
    if client is None or authorize is None or token is None or organisation is None:
        return None
    revocation = expand(platform, platform.revocation_url) if platform.revocation_url else None
    issuer = expand(platform, platform.issuer) if platform.issuer else None
    return ProviderConfig(
        platform=platform.key,
        issuer=issuer or "",
        authorize_url=authorize,
        token_url=token,
        organisation_url=organisation,
        organisation=platform.organisation,
        organisation_name_url=(
            expand(platform, platform.organisation.name_url)
            if platform.organisation.name_url
            else None
        ),
        client_id=client[0],
        client_secret=client[1],
        scopes=tuple(platform.scopes),
        revocation_url=revocation,
        pkce=platform.pkce,
        token_auth=platform.token_auth,
        extra_params=tuple(platform.extra_params.items()),
        requires_iss=bool(issuer) and platform.authorization_response_iss_parameter_supported,
    )


def redirect_uri(platform: str) -> str:
    """The exact callback URL registered with the platform: one per platform (RFC 9700 §4.4)."""
    return public_url("connections.callback", platform=platform)


def _session(provider: ProviderConfig, redirect: str) -> OAuth2Session:
    return OAuth2Session(
        client_id=provider.client_id,
        client_secret=provider.client_secret,
        scope=" ".join(provider.scopes) or None,
        redirect_uri=redirect,
        code_challenge_method="S256" if provider.pkce else None,
        token_endpoint_auth_method=provider.token_auth,
        default_timeout=current_app.config["PROVIDER_TIMEOUT"],
    )


def authorization_url(
    provider: ProviderConfig, redirect: str, state: str, code_verifier: str
) -> str:
    url, _ = _session(provider, redirect).create_authorization_url(
        provider.authorize_url,
        state=state,
        code_verifier=code_verifier if provider.pkce else None,
        **dict(provider.extra_params),
    )
    return str(url)


def exchange_code(
    provider: ProviderConfig, redirect: str, code: str, code_verifier: str
) -> dict[str, Any]:
    """Trade an authorization code for tokens."""
    try:
        token = _session(provider, redirect).fetch_token(
            provider.token_url, code=code, code_verifier=code_verifier if provider.pkce else None
        )
    except AuthlibBaseError as exc:
        raise ProviderError(
            "exchange_failed", f"token endpoint refused the code: {exc.error}"
        ) from exc
    except (requests.RequestException, ValueError) as exc:
        raise ProviderError(
            "exchange_failed", f"token endpoint unreachable: {type(exc).__name__}"
        ) from exc
    return dict(token)


Organisation = tuple[str, str]


def dig(value: Any, path: str | None) -> Any:
    """``a.b.c`` of nested JSON objects; None where the path leads nowhere (or is None)."""
    if not path:
        return None
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def discover_organisations(
    provider: ProviderConfig, token: dict[str, Any], params: Mapping[str, str]
) -> list[Organisation]:
    """The organisations a new token gives access to, found the platform's way."""
    spec = provider.organisation
    if spec.strategy == "redirect_param":
        org_id = params.get(spec.id)
        if not org_id:
            raise ProviderError("organisation_lookup_failed", f"no {spec.id} on the redirect")
        name = params.get(spec.name_param) if spec.name_param else None
        if not name and provider.organisation_name_url:
            url = provider.organisation_name_url.replace("{id}", org_id)
            name = dig(_get_json(provider, token, url), spec.name)
        return [(org_id, str(name or org_id))]
    if spec.strategy == "token_field":
        org_id = dig(token, spec.id)
        if not org_id:
            raise ProviderError("organisation_lookup_failed", f"no {spec.id} in the token")
        return [(str(org_id), str(dig(token, spec.name) or org_id))]
    url = provider.organisation_url.replace("{api_domain}", str(token.get("api_domain") or ""))
    body = _get_json(provider, token, url)
    items = [body] if spec.strategy == "api" else dig(body, spec.list) if spec.list else body
    if not isinstance(items, list):
        raise ProviderError("organisation_lookup_failed", "the organisation list is not a list")
    found = [(dig(item, spec.id), dig(item, spec.name)) for item in items]
    organisations = [(str(i), str(n or i)) for i, n in found if i]
    if not organisations:
        raise ProviderError("organisation_lookup_failed", "no organisation came back")
    return organisations


def _get_json(provider: ProviderConfig, token: dict[str, Any], url: str) -> Any:
    session = OAuth2Session(
        client_id=provider.client_id,
        token=token,
        default_timeout=current_app.config["PROVIDER_TIMEOUT"],
    )
    try:
        response = session.get(url, headers={"Accept": "application/json"})
        response.raise_for_status()
        return response.json()
    except (requests.RequestException, ValueError, AuthlibBaseError) as exc:
        raise ProviderError(
            "organisation_lookup_failed", f"organisation look-up failed: {type(exc).__name__}"
        ) from exc


def refresh_tokens(provider: ProviderConfig, refresh_token: str) -> dict[str, Any]:
    """New tokens for a refresh token; ``refresh_refused`` when the provider says no."""
    session = _session(provider, redirect_uri(provider.platform))
    try:
        token = session.refresh_token(provider.token_url, refresh_token=refresh_token)
    except AuthlibBaseError as exc:
        # invalid_grant: revoked, expired or already used. The connection is gone.
        reason = (
            "refresh_refused"
            if exc.error in ("invalid_grant", "unauthorized_client")
            else "refresh_failed"
        )
        raise ProviderError(reason, f"token endpoint refused the refresh: {exc.error}") from exc
    except (requests.RequestException, ValueError) as exc:
        raise ProviderError(
            "refresh_failed", f"token endpoint unreachable: {type(exc).__name__}"
        ) from exc
    return dict(token)


def revoke_tokens(provider: ProviderConfig, token: dict[str, Any]) -> None:
    """Revoke a connection's tokens at the provider (RFC 7009), refresh token first."""
    if provider.revocation_url is None:
        return
    session = _session(provider, redirect_uri(provider.platform))
    for kind in ("refresh_token", "access_token"):
        if not token.get(kind):
            continue
        try:
            response = session.revoke_token(
                provider.revocation_url, token[kind], token_type_hint=kind
            )
            response.raise_for_status()
        except (requests.RequestException, AuthlibBaseError) as exc:
            raise ProviderError(
                "revoke_failed", f"revocation failed: {type(exc).__name__}"
            ) from exc

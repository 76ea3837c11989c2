"""The OAuth 2.0 client side: authorization URLs, code exchange and the organisation look-up.

Every provider, the built-in Sandbox included, is reached over HTTP with timeouts,
so a slow provider holds up one request, never the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.requests_client import OAuth2Session
from flask import current_app

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
    client_id: str
    client_secret: str
    scopes: tuple[str, ...]
    revocation_url: str | None = None


def provider_config(platform: str) -> ProviderConfig | None:
    """Endpoints and credentials for a platform that can be connected on this instance."""
    config = current_app.config
    if platform == "sandbox" and config.get("SANDBOX_URL"):
        base = config["SANDBOX_URL"].rstrip("/")
        return ProviderConfig(
            platform="sandbox",
            issuer=base,
            authorize_url=f"{base}/authorize",
            token_url=f"{base}/token",
            organisation_url=f"{base}/api/organisation",
            client_id=config["SANDBOX_CLIENT_ID"],
            client_secret=config["SANDBOX_CLIENT_SECRET"],
            scopes=("accounting.read", "offline_access"),
            revocation_url=f"{base}/revoke",
        )
    return None


def redirect_uri(platform: str) -> str:
    """The exact callback URL registered with the platform: one per platform (RFC 9700 §4.4)."""
    return public_url("connections.callback", platform=platform)


def _session(provider: ProviderConfig, redirect: str) -> OAuth2Session:
    return OAuth2Session(
        client_id=provider.client_id,
        client_secret=provider.client_secret,
        scope=" ".join(provider.scopes),
        redirect_uri=redirect,
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic",
        default_timeout=current_app.config["PROVIDER_TIMEOUT"],
    )


def authorization_url(
    provider: ProviderConfig, redirect: str, state: str, code_verifier: str
) -> str:
    url, _ = _session(provider, redirect).create_authorization_url(
        provider.authorize_url, state=state, code_verifier=code_verifier
    )
    return str(url)


def exchange_code(
    provider: ProviderConfig, redirect: str, code: str, code_verifier: str
) -> dict[str, Any]:
    """Trade an authorization code for tokens."""
    try:
        token = _session(provider, redirect).fetch_token(
            provider.token_url, code=code, code_verifier=code_verifier
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


def fetch_organisation(provider: ProviderConfig, token: dict[str, Any]) -> tuple[str, str]:
    """The id and name of the organisation the token gives access to."""
    session = OAuth2Session(
        client_id=provider.client_id,
        token=token,
        default_timeout=current_app.config["PROVIDER_TIMEOUT"],
    )
    try:
        response = session.get(provider.organisation_url)
        response.raise_for_status()
        body = response.json()
        return str(body["id"]), str(body["name"])
    except (requests.RequestException, ValueError, KeyError, TypeError, AuthlibBaseError) as exc:
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

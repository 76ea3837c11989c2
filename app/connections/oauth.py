"""The OAuth 2.0 client side: authorization URLs, code exchange and the organisation look-up.

Every provider, the built-in Sandbox included, is reached over HTTP with timeouts,
so a slow provider holds up one request, never the others.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.requests_client import OAuth2Session
from flask import current_app

from app.platforms import (
    OrganisationLookup,
    RoleRule,
    credentials,
    dig,
    effective,
    expand,
    get_platform,
    is_available,
    setting,
)
from app.urls import public_url

# Response headers in which a provider names its request for its support (Intuit sends
# intuit_tid on every answer).
REQUEST_ID_HEADERS = ("intuit_tid",)


class ProviderError(Exception):
    """A provider call that failed; ``reason`` is a stable code for the failure."""

    def __init__(
        self, reason: str, detail: str, status: int | None = None, retry_after: str | None = None
    ):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        # The provider's HTTP status, where it answered, and its Retry-After header.
        self.status = status
        self.retry_after = retry_after


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
    # Where the environments are listed whose companies the organisation URL names, or
    # the one environment this instance's settings pin.
    environments_url: str | None = None
    environment: str | None = None
    pkce: bool = True
    token_auth: str = "client_secret_basic"
    extra_params: tuple[tuple[str, str], ...] = ()
    # The redirect back must carry ``iss`` (RFC 9207).
    requires_iss: bool = False
    scope_separator: str = " "
    token_headers: tuple[tuple[str, str], ...] = ()
    revocation_body: str = "form"
    revoke_refresh_only: bool = False
    # The user roles that cannot give the access asked for (``Platform.roles``).
    roles: RoleRule | None = None
    login_prompt: tuple[tuple[str, str], ...] = ()
    # The timeouts of every call, from PROVIDER_TIMEOUT.
    timeout: tuple[float, float] = field(default=(5.0, 15.0), compare=False)
    # The provider's request ids of the calls made with this configuration, oldest first
    # (REQUEST_ID_HEADERS): kept on the connection they were about.
    request_ids: list[str] = field(default_factory=list, compare=False, repr=False)

    @property
    def last_request_id(self) -> str | None:
        return self.request_ids[-1] if self.request_ids else None


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
    environments = platform.organisation.environments
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
        environments_url=expand(platform, environments.url) if environments else None,
        environment=setting(platform, "environment") if environments else None,
        extra_params=tuple(platform.extra_params.items()),
        requires_iss=bool(issuer) and platform.authorization_response_iss_parameter_supported,
        scope_separator=platform.scope_separator,
        token_headers=tuple(platform.token_headers.items()),
        revocation_body=platform.revocation_body,
        revoke_refresh_only=platform.revoke_refresh_only,
        roles=platform.roles,
        login_prompt=tuple(platform.login_prompt.items()),
        timeout=tuple(current_app.config["PROVIDER_TIMEOUT"]),  # type: ignore[arg-type]
    )


def redirect_uri(platform: str) -> str:
    """The exact callback URL registered with the platform: one per platform (RFC 9700 §4.4)."""
    return public_url("connections.callback", platform=platform)


def _session(provider: ProviderConfig, redirect: str) -> OAuth2Session:
    return _noting_request_ids(
        provider,
        OAuth2Session(
            client_id=provider.client_id,
            client_secret=provider.client_secret,
            scope=provider.scope_separator.join(provider.scopes) or None,
            redirect_uri=redirect,
            code_challenge_method="S256" if provider.pkce else None,
            token_endpoint_auth_method=provider.token_auth,
            default_timeout=provider.timeout,
        ),
    )


def _noting_request_ids(provider: ProviderConfig, session: OAuth2Session) -> OAuth2Session:
    """The session, noting the request id of every answer (refusals too) in ``provider``."""

    def note(response: requests.Response, *_args: Any, **_kwargs: Any) -> requests.Response:
        for name in REQUEST_ID_HEADERS:
            if response.headers.get(name):
                provider.request_ids.append(response.headers[name][:100])
        return response

    session.hooks["response"].append(note)
    return session


def authorization_url(
    provider: ProviderConfig,
    redirect: str,
    state: str,
    code_verifier: str,
    *,
    login_again: bool = False,
) -> str:
    """Where the customer signs in; ``login_again``: asking the platform to show its sign-in
    even to a browser signed in there (where it can, ``login_prompt``)."""
    extra = dict(provider.extra_params)
    if login_again:
        extra.update(provider.login_prompt)
    url, _ = _session(provider, redirect).create_authorization_url(
        provider.authorize_url,
        state=state,
        code_verifier=code_verifier if provider.pkce else None,
        **extra,
    )
    return str(url)


def exchange_code(
    provider: ProviderConfig, redirect: str, code: str, code_verifier: str
) -> dict[str, Any]:
    """Trade an authorization code for tokens."""
    try:
        token = _session(provider, redirect).fetch_token(
            provider.token_url,
            code=code,
            code_verifier=code_verifier if provider.pkce else None,
            headers=_token_headers(provider),
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


def _token_headers(provider: ProviderConfig) -> dict[str, str]:
    # Authlib sets the content type only when no headers are passed.
    return {
        "Accept": "application/json",
        "Content-Type": "application/x-www-form-urlencoded;charset=UTF-8",
        **dict(provider.token_headers),
    }


@dataclass(frozen=True)
class Organisation:
    """An organisation a token reaches: the platform's id, its name and the details the
    business needs to call the platform's API for it (``organisation.details``)."""

    id: str
    name: str
    details: dict[str, str] = field(default_factory=dict)
    # The signed-in user's role in it and who they are, where the platform reports them.
    role: str | None = None
    user: str | None = None


def discover_organisations(
    provider: ProviderConfig, token: dict[str, Any], params: Mapping[str, str]
) -> list[Organisation]:
    """The organisations a new token gives access to, found the platform's way."""
    organisations = reachable_organisations(provider, token, params)
    if not organisations:
        raise ProviderError("organisation_lookup_failed", "no organisation came back")
    return organisations


def reachable_organisations(
    provider: ProviderConfig, token: dict[str, Any], params: Mapping[str, str]
) -> list[Organisation]:
    """The organisations ``token`` reaches now, looked up the platform's way (perhaps none);
    ``params``: what the redirect back named (the organisation id, where it names it)."""
    spec = provider.organisation
    if spec.strategy == "redirect_param":
        org_id = params.get(spec.id)
        if not org_id:
            raise ProviderError("organisation_lookup_failed", f"no {spec.id} on the redirect")
        name = params.get(spec.name_param) if spec.name_param else None
        if not name and provider.organisation_name_url:
            url = provider.organisation_name_url.replace("{id}", org_id)
            name = dig(_call(provider, token, url), spec.name)
        return [Organisation(org_id, str(name or org_id), _details(spec.details, {}, token))]
    if spec.strategy == "token_field":
        org_id = dig(token, spec.id)
        if not org_id:
            raise ProviderError("organisation_lookup_failed", f"no {spec.id} in the token")
        name = dig(token, spec.name) or org_id
        return [Organisation(str(org_id), str(name), _details(spec.details, token, token))]
    url = provider.organisation_url.replace("{api_domain}", str(token.get("api_domain") or ""))
    if "{environment}" not in url:
        organisations = _listed(provider, token, url)
    else:
        organisations = [
            replace(org, details={**org.details, "environment": environment})
            for environment in _environments(provider, token)
            for org in _listed(provider, token, url.replace("{environment}", environment))
        ]
        if len({org.details["environment"] for org in organisations}) > 1:
            organisations = [
                replace(org, name=f"{org.name} ({org.details['environment']})")
                for org in organisations
            ]
    return organisations


def _listed(provider: ProviderConfig, token: dict[str, Any], url: str) -> list[Organisation]:
    """The organisations one look-up answers with."""
    spec = provider.organisation
    query = {"query": spec.query or ""} if spec.strategy == "graphql" else None
    body = _call(provider, token, url, query)
    if spec.strategy == "graphql" and isinstance(body, dict) and body.get("errors"):
        raise ProviderError("organisation_lookup_failed", "the GraphQL query was refused")
    items = [body] if spec.strategy == "api" else dig(body, spec.list) if spec.list else body
    if not isinstance(items, list):
        raise ProviderError("organisation_lookup_failed", "the organisation list is not a list")
    found = [(dig(item, spec.id), dig(item, spec.name), item) for item in items]
    return [
        Organisation(
            str(i),
            str(n or i),
            _details(spec.details, item, token),
            role=_text(dig(item, spec.role)),
            user=_text(dig(item, spec.user)),
        )
        for i, n, item in found
        if i not in (None, "")
    ]


def _text(value: Any) -> str | None:
    """A reported role or user, as text of a sensible length; None if absent."""
    if value is None or isinstance(value, dict | list) or str(value).strip() == "":
        return None
    return str(value).strip()[:100]


def _environments(provider: ProviderConfig, token: dict[str, Any]) -> list[str]:
    """The environment the settings pin, else every one the platform lists."""
    lookup = provider.organisation.environments
    if provider.environment:
        return [provider.environment]
    if lookup is None or provider.environments_url is None:
        raise ProviderError("organisation_lookup_failed", "no environment to look in")
    listed = dig(_call(provider, token, provider.environments_url), lookup.list)
    if not isinstance(listed, list):
        raise ProviderError("organisation_lookup_failed", "the environment list is not a list")
    return [str(name) for item in listed if (name := dig(item, lookup.name))]


def _details(paths: Mapping[str, str], item: Any, token: Mapping[str, Any]) -> dict[str, str]:
    """The organisation's details: a path starting ``token.`` reads the token response."""
    found = {}
    for name, path in paths.items():
        source = token if path.startswith("token.") else item
        value = dig(source, path.removeprefix("token."))
        if value not in (None, ""):
            found[name] = str(value)
    return found


def _call(
    provider: ProviderConfig, token: dict[str, Any], url: str, query: dict[str, str] | None = None
) -> Any:
    """GET ``url`` with the access token, or POST ``query`` to it (GraphQL); its JSON."""
    session = _noting_request_ids(
        provider,
        OAuth2Session(client_id=provider.client_id, token=token, default_timeout=provider.timeout),
    )
    try:
        if query is None:
            response = session.get(url, headers={"Accept": "application/json"})
        else:
            response = session.post(url, json=query, headers={"Accept": "application/json"})
        response.raise_for_status()
        return response.json()
    except requests.HTTPError as exc:
        answered = exc.response
        raise ProviderError(
            "organisation_lookup_failed",
            f"organisation look-up failed: HTTP {answered.status_code}",
            status=answered.status_code,
            retry_after=answered.headers.get("Retry-After"),
        ) from exc
    except (requests.RequestException, ValueError, AuthlibBaseError) as exc:
        raise ProviderError(
            "organisation_lookup_failed", f"organisation look-up failed: {type(exc).__name__}"
        ) from exc


def refresh_tokens(provider: ProviderConfig, refresh_token: str) -> dict[str, Any]:
    """New tokens for a refresh token; ``refresh_refused`` when the provider says no."""
    session = _session(provider, redirect_uri(provider.platform))
    try:
        token = session.refresh_token(
            provider.token_url, refresh_token=refresh_token, headers=_token_headers(provider)
        )
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
    """Revoke a connection's tokens at the provider (RFC 7009), refresh token first.

    Where revoking the refresh token ends the whole grant (``revoke_refresh_only``),
    the access token is left alone: asking again could only be refused.
    """
    if provider.revocation_url is None:
        return
    kinds = ["refresh_token", "access_token"]
    if provider.revoke_refresh_only and token.get("refresh_token"):
        kinds = ["refresh_token"]
    session = _session(provider, redirect_uri(provider.platform))
    for kind in kinds:
        if not token.get(kind):
            continue
        try:
            if provider.revocation_body == "json":
                # Intuit's clients: HTTP Basic and {"token": ...}, not RFC 7009's form.
                response = session.post(
                    provider.revocation_url,
                    json={"token": token[kind]},
                    auth=(provider.client_id, provider.client_secret),
                    headers={"Accept": "application/json"},
                    withhold_token=True,
                )
            else:
                response = session.revoke_token(
                    provider.revocation_url, token[kind], token_type_hint=kind
                )
            response.raise_for_status()
        except (requests.RequestException, AuthlibBaseError) as exc:
            raise ProviderError(
                "revoke_failed", f"revocation failed: {type(exc).__name__}"
            ) from exc

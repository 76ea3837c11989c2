"""The sandbox's OAuth 2.0 authorization server, built from Authlib's components.

One confidential client comes from config; PKCE with S256 is required on every
authorization request; refresh tokens rotate; responses name the issuer (RFC 9207).
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2.rfc6749 import (
    AuthorizationCodeGrant,
    ClientMixin,
    InvalidRequestError,
    OAuth2Request,
    RefreshTokenGrant,
    list_to_scope,
    scope_to_list,
)
from authlib.oauth2.rfc6750 import BearerTokenGenerator, BearerTokenValidator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc9207 import IssuerParameter
from flask import current_app
from sqlalchemy import select

from app.sandbox import storage
from app.sandbox.data import DEFAULT_SCOPE, SCOPES
from app.sandbox.models import SandboxAuthorizationCode, SandboxToken
from app.sandbox.storage import utcnow

ACCESS_TOKEN_LIFETIME = 1800
# RFC 6749 §4.1.2 recommends at most ten minutes.
CODE_LIFETIME = timedelta(minutes=5)
CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
# "Answer slowly" on the consent screen: how long the code exchange then waits
# (SANDBOX_SLOW_SECONDS), and a ceiling on what a client may ask for in a query.
DEFAULT_SLOW_SECONDS = 3.0
MAX_SLOW_SECONDS = 30.0
SLOW_QUIRK = "sandbox_slow_seconds"
# "Short-lived access" on the consent screen: access tokens that expire after
# SANDBOX_SHORT_TOKEN_SECONDS, so that the client must refresh them soon; refreshed
# tokens keep the same short life.
DEFAULT_SHORT_TOKEN_SECONDS = 120
# Onramp's OAuth client (Authlib) takes a token that expires within a minute as expired.
MIN_SHORT_TOKEN_SECONDS = 61
TOKEN_SECONDS_QUIRK = "sandbox_token_seconds"
GRANT_TYPES = ["authorization_code", "refresh_token"]


def issuer() -> str:
    """The sandbox's issuer identifier: its public base URL, whatever Host was asked."""
    return str(current_app.config["SANDBOX_URL"]).rstrip("/")


@dataclass(frozen=True)
class SandboxClient(ClientMixin):
    """The one registered client, Onramp, described by config rather than a table."""

    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]
    client_name: str = "Onramp"

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        # No default: every request must name a redirect_uri, matched exactly.
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        if not scope:
            return DEFAULT_SCOPE
        return str(list_to_scope([s for s in scope_to_list(scope) if s in SCOPES]))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return hmac.compare_digest(client_secret.encode(), self.client_secret.encode())

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in CLIENT_AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in GRANT_TYPES


@dataclass(frozen=True)
class Grantee:
    """Authlib's "user": who approved, the organisation they chose and what the tester
    scripted: how long the code exchange waits ("Answer slowly") and how long access
    tokens last ("Short-lived access"; 0 for the usual lifetime)."""

    email: str
    organisation_id: str
    slow_seconds: float = 0.0
    token_seconds: int = 0


def registered_client() -> SandboxClient:
    """The client Onramp uses, from SANDBOX_CLIENT_ID, _SECRET and _REDIRECT_URIS."""
    config = current_app.config
    redirect_uris = config["SANDBOX_REDIRECT_URIS"] or [
        config["PUBLIC_URL"] + "/connect/sandbox/callback"
    ]
    if isinstance(redirect_uris, str):
        redirect_uris = [redirect_uris]
    return SandboxClient(
        client_id=config["SANDBOX_CLIENT_ID"],
        client_secret=config["SANDBOX_CLIENT_SECRET"],
        redirect_uris=tuple(redirect_uris),
    )


def query_client(client_id: str) -> SandboxClient | None:
    client = registered_client()
    return client if client_id == client.client_id else None


def quirks_of(parameters: dict[str, Any]) -> dict[str, str]:
    """The ``sandbox_*`` parameters with which a client asks the sandbox to act as a platform.

    ``sandbox_org_param`` (and ``sandbox_org_name_param``): name the organisation on the
    redirect back, as QuickBooks does with ``realmId``; ``sandbox_token_field``: name it
    in the token response, as Wave does; ``sandbox_slow_seconds``: wait that long before
    answering the code exchange (the consent screen's "Answer slowly" sets it too);
    ``sandbox_token_seconds``: issue access tokens that last that long ("Short-lived
    access").
    """
    return {k: str(v) for k, v in parameters.items() if k.startswith("sandbox_")}


def slow_seconds() -> float:
    """How long "Answer slowly" makes the code exchange wait (SANDBOX_SLOW_SECONDS)."""
    return _bounded(current_app.config.get("SANDBOX_SLOW_SECONDS", DEFAULT_SLOW_SECONDS))


def short_token_seconds() -> int:
    """How long "Short-lived access" tokens last (SANDBOX_SHORT_TOKEN_SECONDS)."""
    return _token_lifetime(
        current_app.config.get("SANDBOX_SHORT_TOKEN_SECONDS", DEFAULT_SHORT_TOKEN_SECONDS)
    )


def _token_lifetime(value: object) -> int:
    """A scripted access token lifetime: 0 (the usual) unless a positive whole number of
    seconds below the usual lifetime, and never under MIN_SHORT_TOKEN_SECONDS."""
    try:
        seconds = int(str(value))
    except ValueError:
        return 0
    if not 0 < seconds < ACCESS_TOKEN_LIFETIME:
        return 0
    return max(seconds, MIN_SHORT_TOKEN_SECONDS)


def exchange_delay(quirks: dict[str, str] | None) -> float:
    """The wait a code's quirks ask of its exchange: none unless asked, never over the ceiling."""
    return _bounded((quirks or {}).get(SLOW_QUIRK, 0))


def _bounded(value: object) -> float:
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0
    # NaN fails both comparisons, so it ends up as no wait at all.
    return min(seconds, MAX_SLOW_SECONDS) if seconds > 0 else 0.0


def save_token(token: dict[str, Any], request: OAuth2Request) -> None:
    grantee: Grantee = request.user
    code = getattr(request, "authorization_code", None)
    field = ((code.quirks if code is not None else None) or {}).get("sandbox_token_field")
    if field:
        token[field] = grantee.organisation_id
    if grantee.token_seconds:
        token["expires_in"] = grantee.token_seconds
    storage.session().add(
        SandboxToken(
            client_id=request.client.get_client_id(),
            token_type=token["token_type"],
            access_token=token["access_token"],
            refresh_token=token.get("refresh_token"),
            scope=token.get("scope", ""),
            expires_in=token["expires_in"],
            user_email=grantee.email,
            organisation_id=grantee.organisation_id,
        )
    )
    storage.session().commit()


def _new_token(**_context: Any) -> str:
    return secrets.token_urlsafe(32)


class S256CodeChallenge(CodeChallenge):
    """PKCE required with S256 from every client; Authlib asks it only of public ones."""

    SUPPORTED_CODE_CHALLENGE_METHOD: ClassVar[list[str]] = ["S256"]

    def validate_code_challenge(self, grant: AuthorizationCodeGrant, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("Missing 'code_challenge': the sandbox requires PKCE.")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("The 'code_challenge_method' must be S256.")
        super().validate_code_challenge(grant, redirect_uri)


class SandboxAuthorizationCodeGrant(AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        grantee: Grantee = request.user
        quirks = quirks_of(request.payload.data)
        if grantee.slow_seconds:
            quirks[SLOW_QUIRK] = str(grantee.slow_seconds)
        if grantee.token_seconds:
            quirks[TOKEN_SECONDS_QUIRK] = str(grantee.token_seconds)
        storage.session().add(
            SandboxAuthorizationCode(
                code=code,
                client_id=request.client.get_client_id(),
                redirect_uri=request.payload.redirect_uri,
                scope=request.scope,
                code_challenge=request.payload.data["code_challenge"],
                code_challenge_method=request.payload.data["code_challenge_method"],
                user_email=grantee.email,
                organisation_id=grantee.organisation_id,
                expires_at=utcnow() + CODE_LIFETIME,
                quirks=quirks or None,
            )
        )
        storage.session().commit()

    def create_token_response(self) -> tuple[int, Any, list[tuple[str, str]]]:
        # A slow platform: the tester asked for it when approving (see exchange_delay).
        delay = exchange_delay(self.request.authorization_code.quirks)
        if delay:
            time.sleep(delay)
        return super().create_token_response()  # type: ignore[no-any-return]

    def query_authorization_code(
        self, code: str, client: SandboxClient
    ) -> SandboxAuthorizationCode | None:
        found = storage.session().scalar(
            select(SandboxAuthorizationCode).filter_by(code=code, client_id=client.client_id)
        )
        return None if found is None or found.is_expired() else found

    def delete_authorization_code(self, authorization_code: SandboxAuthorizationCode) -> None:
        storage.session().delete(authorization_code)
        storage.session().commit()

    def authenticate_user(self, authorization_code: SandboxAuthorizationCode) -> Grantee:
        quirks = authorization_code.quirks or {}
        return Grantee(
            authorization_code.user_email,
            authorization_code.organisation_id,
            token_seconds=_token_lifetime(quirks.get(TOKEN_SECONDS_QUIRK, 0)),
        )


class SandboxRefreshTokenGrant(RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS
    # Rotation: every refresh issues a new refresh token and revokes the old one.
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> SandboxToken | None:
        if current_app.config.get("SANDBOX_REFRESH_FAILS"):
            return None  # act as a platform that has withdrawn the app's access
        return storage.session().scalar(
            select(SandboxToken).filter_by(
                refresh_token=refresh_token, refresh_token_revoked_at=None
            )
        )

    def authenticate_user(self, refresh_token: SandboxToken) -> Grantee:
        # A short-lived token's successor is short-lived too.
        return Grantee(
            refresh_token.user_email,
            refresh_token.organisation_id,
            token_seconds=_token_lifetime(refresh_token.expires_in),
        )

    def revoke_old_credential(self, refresh_token: SandboxToken) -> None:
        refresh_token.refresh_token_revoked_at = utcnow()
        storage.session().commit()


class SandboxRevocationEndpoint(RevocationEndpoint):
    CLIENT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> SandboxToken | None:
        by_access = select(SandboxToken).filter_by(access_token=token_string)
        by_refresh = select(SandboxToken).filter_by(refresh_token=token_string)
        if token_type_hint == "refresh_token":
            return storage.session().scalar(by_refresh) or storage.session().scalar(by_access)
        return storage.session().scalar(by_access) or storage.session().scalar(by_refresh)

    def revoke_token(self, token: SandboxToken, request: OAuth2Request) -> None:
        # RFC 7009 §2.1: revoking a refresh token ends its access token too.
        now = utcnow()
        token.access_token_revoked_at = token.access_token_revoked_at or now
        if request.form.get("token") == token.refresh_token:
            token.refresh_token_revoked_at = token.refresh_token_revoked_at or now
        storage.session().commit()


class SandboxIssuer(IssuerParameter):
    def get_issuer(self) -> str:
        return issuer()


class SandboxBearerTokenValidator(BearerTokenValidator):
    def authenticate_token(self, token_string: str) -> SandboxToken | None:
        return storage.session().scalar(select(SandboxToken).filter_by(access_token=token_string))


# Stateless once built, so one protector serves every app.
require_token = ResourceProtector()
require_token.register_token_validator(SandboxBearerTokenValidator())


def create_authorization_server() -> AuthorizationServer:
    """A fresh authorization server for one Flask app (kept in ``app.extensions``)."""
    server = AuthorizationServer(query_client=query_client, save_token=save_token)
    server.scopes_supported = list(SCOPES)
    server.register_token_generator(
        "default", BearerTokenGenerator(_new_token, _new_token, ACCESS_TOKEN_LIFETIME)
    )
    server.register_grant(SandboxAuthorizationCodeGrant, [S256CodeChallenge(required=True)])
    server.register_grant(SandboxRefreshTokenGrant)
    server.register_endpoint(SandboxRevocationEndpoint)
    server.register_extension(SandboxIssuer())
    return server


def server_metadata() -> dict[str, Any]:
    """RFC 8414 metadata, with every URL under the configured issuer."""
    base = issuer()
    return {
        "issuer": base,
        "authorization_endpoint": f"{base}/authorize",
        "token_endpoint": f"{base}/token",
        "revocation_endpoint": f"{base}/revoke",
        "scopes_supported": list(SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": GRANT_TYPES,
        "token_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "revocation_endpoint_auth_methods_supported": CLIENT_AUTH_METHODS,
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": True,
    }

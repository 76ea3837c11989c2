"""The sandbox's OAuth 2.0 authorization servers, built from Authlib's components.

One server per dialect (app/sandbox/dialects.py), all for the one confidential client
config describes. Speaking for itself, the Sandbox requires PKCE with S256 on every
authorization request, rotates refresh tokens and names the issuer (RFC 9207);
playing a vendor, it keeps to that vendor's rules instead.
"""

from __future__ import annotations

import hmac
import secrets
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2.rfc6749 import (
    AuthorizationCodeGrant,
    ClientMixin,
    InvalidClientError,
    InvalidRequestError,
    InvalidScopeError,
    OAuth2Error,
    OAuth2Request,
    RefreshTokenGrant,
    list_to_scope,
    scope_to_list,
)
from authlib.oauth2.rfc6750 import BearerTokenGenerator, BearerTokenValidator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc9207 import IssuerParameter
from flask import Response, current_app
from flask import request as http_request
from sqlalchemy import select

from app.sandbox import grants, storage
from app.sandbox.data import DEFAULT_SCOPE, SCOPES
from app.sandbox.dialects import DIALECTS, NATIVE, Dialect, TokenFacts, dialect_base
from app.sandbox.storage import utcnow
from app.sandbox.tables import SandboxAuthorizationCode, SandboxToken

ACCESS_TOKEN_LIFETIME = DIALECTS[NATIVE].access_seconds
# RFC 6749 §4.1.2 recommends at most ten minutes.
CODE_LIFETIME = timedelta(minutes=5)
CLIENT_AUTH_METHODS = list(DIALECTS[NATIVE].client_auth)
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
    # The name the app was registered under: the business's (SANDBOX_CLIENT_NAME).
    client_name: str = "Onramp"
    # The dialect the client is talking to, which decides the scopes it may have.
    dialect: Dialect = field(default=DIALECTS[NATIVE])

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> None:
        # No default: every request must name a redirect_uri, matched exactly.
        return None

    def get_allowed_scope(self, scope: str | None) -> str:
        if self.dialect.key != NATIVE:
            # The server refused any scope the vendor does not know: keep the request's
            # own spelling (Zoho's commas included).
            return scope or ""
        if not scope:
            return DEFAULT_SCOPE
        return str(list_to_scope([s for s in scope_to_list(scope) if s in SCOPES]))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return hmac.compare_digest(client_secret.encode(), self.client_secret.encode())

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in self.dialect.client_auth

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
    # On a refresh: the approval the refreshed token came from.
    grant_id: str | None = None
    granted_at: datetime | None = None


def registered_client(dialect: Dialect = DIALECTS[NATIVE]) -> SandboxClient:
    """The client Onramp uses, from SANDBOX_CLIENT_ID, _SECRET and _REDIRECT_URIS, as
    the given dialect sees it."""
    config = current_app.config
    # Unset: the one callback an app registered with that vendor would have, beside the
    # Sandbox under the same public address.
    redirect_uris = config["SANDBOX_REDIRECT_URIS"] or [
        f"{config['PUBLIC_URL']}/connect/{dialect.key}/callback"
    ]
    if isinstance(redirect_uris, str):
        redirect_uris = [redirect_uris]
    return SandboxClient(
        client_id=config["SANDBOX_CLIENT_ID"],
        client_secret=config["SANDBOX_CLIENT_SECRET"],
        redirect_uris=tuple(redirect_uris),
        client_name=config["SANDBOX_CLIENT_NAME"] or SandboxClient.client_name,
        dialect=dialect,
    )


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


def _save_token(dialect: Dialect, token: dict[str, Any], request: OAuth2Request) -> None:
    """Keep the token issued in ``dialect`` and shape its response the vendor's way."""
    grantee: Grantee = request.user
    code: SandboxAuthorizationCode | None = request.authorization_code
    quirks = (code.quirks if code is not None else None) or {}
    if code is not None and not _offline(dialect, code):
        token.pop("refresh_token", None)
    field_name = quirks.get("sandbox_token_field")
    if field_name:
        token[field_name] = grantee.organisation_id
    if grantee.token_seconds and grantee.token_seconds < dialect.access_seconds:
        token["expires_in"] = grantee.token_seconds
    now = utcnow()
    granted_at = grantee.granted_at or now
    saved = SandboxToken(
        dialect=dialect.key,
        grant_id=grantee.grant_id or str(uuid.uuid4()),
        granted_at=granted_at,
        client_id=request.client.get_client_id(),
        token_type=token["token_type"],
        access_token=token["access_token"],
        refresh_token=token.get("refresh_token"),
        scope=token.get("scope", ""),
        expires_in=token["expires_in"],
        user_email=grantee.email,
        organisation_id=grantee.organisation_id,
        issued_at=now,
    )
    storage.session().add(saved)
    storage.session().commit()
    refresh_expires = grants.refresh_expires_at(saved.grant_id)
    if dialect.key == NATIVE and refresh_expires is not None and "refresh_token" in token:
        # Speaking for itself, the Sandbox says so only when a tester set an expiry.
        left = int((refresh_expires - now).total_seconds())
        token["refresh_token_expires_in"] = max(left, 0)
    if dialect.key != NATIVE:
        facts = TokenFacts(
            scope=saved.scope,
            granted_at=granted_at,
            now=now,
            api_base=dialect_base(issuer(), dialect.key),
            headers={k.lower(): v for k, v in http_request.headers.items()},
            refresh_expires_at=refresh_expires,
        )
        shaped: dict[str, Any] = {
            "access_token": token["access_token"],
            "token_type": dialect.token_type,
            "expires_in": token["expires_in"],
        }
        if "refresh_token" in token:
            shaped["refresh_token"] = token["refresh_token"]
        shaped.update(dialect.token_fields(facts))
        token.clear()
        token.update(shaped)


def _offline(dialect: Dialect, code: SandboxAuthorizationCode) -> bool:
    """Whether the approval asked for a refresh token the way the vendor wants it asked."""
    if dialect.offline_scope is not None:
        return dialect.offline_scope in dialect.split_scope(code.scope)
    if dialect.offline_parameter is not None:
        return (code.quirks or {}).get(OFFLINE_QUIRK) == "1"
    return True


OFFLINE_QUIRK = "offline"


def _new_token(**_context: Any) -> str:
    return secrets.token_urlsafe(32)


class S256CodeChallenge(CodeChallenge):
    """PKCE with S256 only; required of every client where the dialect requires it
    (Authlib asks it only of public ones), else verified when sent."""

    SUPPORTED_CODE_CHALLENGE_METHOD: ClassVar[list[str]] = ["S256"]

    def validate_code_challenge(self, grant: AuthorizationCodeGrant, redirect_uri: str) -> None:
        data = grant.request.payload.data
        sent = data.get("code_challenge") or data.get("code_challenge_method")
        if not self.required and not sent:
            return
        if not data.get("code_challenge"):
            raise InvalidRequestError("Missing 'code_challenge': the sandbox requires PKCE.")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("The 'code_challenge_method' must be S256.")
        super().validate_code_challenge(grant, redirect_uri)


def _dialect_of(grant: Any) -> Dialect:
    server: SandboxServer = grant.server
    return server.dialect


class SandboxAuthorizationCodeGrant(AuthorizationCodeGrant):
    @property
    def TOKEN_ENDPOINT_AUTH_METHODS(self) -> list[str]:  # Authlib reads this name
        return list(_dialect_of(self).client_auth)

    def validate_authorization_request(self) -> str:
        redirect_uri: str = super().validate_authorization_request()
        limits = _dialect_of(self).state_length
        state = self.request.payload.state or ""
        if limits is not None and not limits[0] <= len(state) <= limits[1]:
            raise InvalidRequestError(
                f"The 'state' must be {limits[0]} to {limits[1]} characters long.",
                state=state or None,
                redirect_uri=redirect_uri,
            )
        return redirect_uri

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        dialect = _dialect_of(self)
        grantee: Grantee = request.user
        data = request.payload.data
        quirks = quirks_of(data)
        if grantee.slow_seconds:
            quirks[SLOW_QUIRK] = str(grantee.slow_seconds)
        if grantee.token_seconds:
            quirks[TOKEN_SECONDS_QUIRK] = str(grantee.token_seconds)
        if dialect.offline_parameter is not None:
            name, value = dialect.offline_parameter
            if data.get(name) == value:
                quirks[OFFLINE_QUIRK] = "1"
        storage.session().add(
            SandboxAuthorizationCode(
                code=code,
                dialect=dialect.key,
                client_id=request.client.get_client_id(),
                redirect_uri=request.payload.redirect_uri,
                scope=request.scope,
                code_challenge=data.get("code_challenge"),
                code_challenge_method=data.get("code_challenge_method"),
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
            select(SandboxAuthorizationCode).filter_by(
                code=code, client_id=client.client_id, dialect=_dialect_of(self).key
            )
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
    @property
    def TOKEN_ENDPOINT_AUTH_METHODS(self) -> list[str]:  # Authlib reads this name
        return list(_dialect_of(self).client_auth)

    @property
    def INCLUDE_NEW_REFRESH_TOKEN(self) -> bool:  # Authlib reads this name
        # Rotation: every refresh issues a new refresh token and revokes the old one;
        # Zoho's refresh response carries none, and its refresh token lives on.
        return _dialect_of(self).rotates

    def authenticate_refresh_token(self, refresh_token: str) -> SandboxToken | None:
        if current_app.config.get("SANDBOX_REFRESH_FAILS"):
            return None  # act as a platform that has withdrawn the app's access
        found = storage.session().scalar(
            select(SandboxToken).filter_by(
                refresh_token=refresh_token,
                refresh_token_revoked_at=None,
                dialect=_dialect_of(self).key,
            )
        )
        expires = grants.refresh_expires_at(found.grant_id) if found is not None else None
        if expires is not None and expires <= utcnow():
            return None  # the tester made the refresh token expire
        return found

    def authenticate_user(self, refresh_token: SandboxToken) -> Grantee:
        # A short-lived token's successor is short-lived too.
        return Grantee(
            refresh_token.user_email,
            refresh_token.organisation_id,
            token_seconds=_token_lifetime(refresh_token.expires_in),
            grant_id=refresh_token.grant_id,
            granted_at=refresh_token.granted_at,
        )

    def revoke_old_credential(self, refresh_token: SandboxToken) -> None:
        if self.INCLUDE_NEW_REFRESH_TOKEN:
            refresh_token.refresh_token_revoked_at = utcnow()
            storage.session().commit()


class SandboxRevocationEndpoint(RevocationEndpoint):
    """RFC 7009, for the Sandbox speaking for itself (the vendors' own are in
    app/sandbox/vendor_views.py)."""

    CLIENT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def query_token(self, token_string: str, token_type_hint: str | None) -> SandboxToken | None:
        native = select(SandboxToken).filter_by(dialect=NATIVE)
        by_access = native.filter_by(access_token=token_string)
        by_refresh = native.filter_by(refresh_token=token_string)
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
        return storage.session().scalar(
            select(SandboxToken).filter_by(access_token=token_string, dialect=NATIVE)
        )


# Stateless once built, so one protector serves every app.
require_token = ResourceProtector()
require_token.register_token_validator(SandboxBearerTokenValidator())


def usable_token(dialect: str, token_string: str) -> SandboxToken | None:
    """The access token ``token_string`` if it was issued in ``dialect`` and still works:
    neither revoked nor expired."""
    found = storage.session().scalar(
        select(SandboxToken).filter_by(access_token=token_string, dialect=dialect)
    )
    if found is None or found.is_revoked() or found.is_expired():
        return None
    return found


class SandboxServer(AuthorizationServer):
    """One dialect's authorization server: its scopes, client authentication and tokens."""

    def __init__(self, dialect: Dialect) -> None:
        super().__init__()
        self.dialect = dialect
        self.scopes_supported = sorted(dialect.scopes)

    def query_client(self, client_id: str) -> SandboxClient | None:
        client = registered_client(self.dialect)
        return client if client_id == client.client_id else None

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        _save_token(self.dialect, token, request)

    def validate_requested_scope(self, scope: str | None) -> None:
        # Split on the vendor's separator: a space-separated request to Zoho is one
        # unknown scope.
        if any(s not in self.dialect.scopes for s in self.dialect.split_scope(scope)):
            raise InvalidScopeError()

    def handle_error_response(self, request: OAuth2Request, error: OAuth2Error) -> Response:
        # A client authenticating the way this vendor does not accept is unauthorised.
        if isinstance(error, InvalidClientError):
            error.status_code = 401
        response: Response = super().handle_error_response(request, error)
        return response


def create_authorization_server(dialect: Dialect = DIALECTS[NATIVE]) -> SandboxServer:
    """A fresh authorization server for one Flask app and dialect (kept in
    ``app.extensions``)."""
    server = SandboxServer(dialect)
    server.register_token_generator(
        "default", BearerTokenGenerator(_new_token, _new_token, dialect.access_seconds)
    )
    server.register_grant(
        SandboxAuthorizationCodeGrant, [S256CodeChallenge(required=dialect.pkce_required)]
    )
    server.register_grant(SandboxRefreshTokenGrant)
    if dialect.key == NATIVE:
        server.register_endpoint(SandboxRevocationEndpoint)
    if dialect.announces_issuer:
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

"""Optional single sign-on with any OpenID Connect provider, through Authlib.

Configured by ``ONRAMP_OIDC_ISSUER``, ``ONRAMP_OIDC_CLIENT_ID`` and
``ONRAMP_OIDC_CLIENT_SECRET``; the provider's discovery document supplies the rest.
Authlib checks state, PKCE, the nonce and the ID token's signature, issuer and audience.
A colleague signs in to the account with their (verified) email address; with
``ONRAMP_OIDC_DEFAULT_ROLE`` set, a first sign-in from an allowed domain creates one.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from authlib.common.errors import AuthlibBaseError
from authlib.integrations.flask_client import OAuth
from flask import Flask, current_app
from requests import RequestException

from app import audit
from app.admin.accounts import AccountError, create_user, find_user
from app.models import User

oauth = OAuth()
CLIENT = "sso"


class SignOnRefused(Exception):
    """Single sign-on that did not end with an account; the message is for the colleague."""


def enabled() -> bool:
    return bool(current_app.config.get("OIDC_ISSUER"))


def init_sso(app: Flask) -> None:
    issuer = app.config.get("OIDC_ISSUER")
    if not issuer:
        return
    oauth.init_app(app)
    oauth.register(
        CLIENT,
        client_id=app.config["OIDC_CLIENT_ID"],
        client_secret=app.config["OIDC_CLIENT_SECRET"],
        server_metadata_url=issuer.rstrip("/") + "/.well-known/openid-configuration",
        client_kwargs={"scope": "openid email profile", "code_challenge_method": "S256"},
        overwrite=True,
    )


def client() -> Any:
    return oauth.create_client(CLIENT)


def authorization_origin() -> str:
    """Where the sign-on form's redirect leads: the login page's CSP must allow it."""
    try:
        endpoint = client().load_server_metadata().get("authorization_endpoint")
    except (RequestException, ValueError):
        endpoint = None
    parts = urlsplit(endpoint or current_app.config["OIDC_ISSUER"])
    return f"{parts.scheme}://{parts.netloc}"


def _allowed_domains() -> set[str]:
    domains = current_app.config.get("OIDC_ALLOWED_DOMAINS") or []
    if isinstance(domains, str):
        domains = domains.split(",")
    return {d.strip().lower() for d in domains if d.strip()}


def account_for(claims: dict[str, Any]) -> User:
    """The active account these verified ID-token claims sign in to (created if allowed)."""
    email = str(claims.get("email") or "").strip().lower()
    if not email:
        raise SignOnRefused("The identity provider did not share an email address.")
    if claims.get("email_verified") is False:
        raise SignOnRefused("The identity provider has not verified this email address.")
    domains = _allowed_domains()
    if domains and email.rpartition("@")[2] not in domains:
        raise SignOnRefused(f"{email} is not in a domain allowed to sign in here.")
    user = find_user(email)
    if user is None:
        role = current_app.config.get("OIDC_DEFAULT_ROLE")
        if not role:
            raise SignOnRefused(f"There is no admin account for {email}. Ask an admin for one.")
        try:
            user, _ = create_user(email, role, password=None, sso_only=True)
        except AccountError as exc:
            raise SignOnRefused(str(exc)) from exc
        audit.record(
            "user",
            email,
            "user.create",
            "user",
            str(user.id),
            None,
            {"email": email, "role": role, "via": "single sign-on"},
        )
    if not user.active:
        raise SignOnRefused(f"The account for {email} is deactivated.")
    return user


def claims_from_callback() -> dict[str, Any]:
    """Finish the authorization-code flow; the ID token's verified claims."""
    try:
        token = client().authorize_access_token()
    except (AuthlibBaseError, RequestException, ValueError, KeyError) as exc:
        raise SignOnRefused(
            "Single sign-on did not complete. Start again from the sign-in page."
        ) from exc
    claims = token.get("userinfo")
    if not claims:
        raise SignOnRefused("The identity provider sent no ID token.")
    return dict(claims)

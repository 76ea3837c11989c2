"""The Sandbox playing each vendor, at the vendor's own paths under ``/v/<key>``.

A client that swaps a vendor URL's scheme and host for ``{SANDBOX_URL}/v/<key>``
reaches here: the vendor's authorize (the Sandbox's own sign-in and consent screens),
token and revocation endpoints, and its organisation look-up, each answering the way
the vendor documents (app/sandbox/dialects.py, app/sandbox/lookups.py).
"""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from app.sandbox import grants, lookups
from app.sandbox.authorization_server import issuer, registered_client, usable_token
from app.sandbox.data import DEMO, find_organisation, find_user
from app.sandbox.dialects import DIALECTS, VENDOR_DIALECTS, dialect_base, dialect_organisation_id
from app.sandbox.headers import security_headers
from app.sandbox.storage import utcnow
from app.sandbox.tables import SandboxToken
from app.sandbox.views import run_authorization, server_for

bp = Blueprint("sandbox_vendors", __name__)
bp.after_request(security_headers)


@bp.after_request
def _intuit_tid(response: Response) -> Response:
    # Intuit names every answer with a transaction id its support can look up.
    if (request.view_args or {}).get("dialect") == "quickbooks":
        response.headers["intuit_tid"] = f"1-{uuid.uuid4()}"
    return response


def authorize(dialect: str, **_path: str) -> ResponseReturnValue:
    """The vendor's authorization endpoint: the Sandbox's sign-in and consent screens."""
    return run_authorization(dialect)


def token(dialect: str, **_path: str) -> Response:
    """The vendor's token endpoint: code exchange and refresh, the vendor's way."""
    return server_for(dialect).create_token_response()


def _oauth_error(error: str, status: int) -> tuple[Response, int]:
    return jsonify(error=error), status


def _basic_client_authenticated() -> bool:
    """Whether the request authenticates as the registered client with HTTP Basic."""
    sent = request.authorization
    if sent is None or sent.type != "basic":
        return False
    client = registered_client()
    id_ok = hmac.compare_digest((sent.username or "").encode(), client.client_id.encode())
    return client.check_client_secret(sent.password or "") and id_ok


def revoke(dialect: str) -> ResponseReturnValue:
    """The vendor's revocation endpoint. Revoking a refresh token ends the approval it
    belongs to; a token no longer live is refused (400 invalid_token) where the vendor
    ends the whole grant with the refresh token, else answered 200 (RFC 7009 §2.2).

    Xero and NetSuite: a form body, client Basic auth. QuickBooks: a JSON body
    ``{"token": ...}`` and Basic auth (a form body is refused). Zoho: ``token`` as a
    parameter; not documented by Zoho: any client authentication, so none is asked.
    The answer on success, 200 with an empty body, is not documented by any of them.
    """
    how = DIALECTS[dialect].revoke_body
    if how != "parameter" and not _basic_client_authenticated():
        return _oauth_error("invalid_client", 401)
    if how == "json":
        payload = request.get_json(silent=True) if request.is_json else None
        sent = payload.get("token") if isinstance(payload, dict) else None
    elif how == "parameter":
        sent = request.values.get("token")
    else:
        sent = request.form.get("token")
    if not isinstance(sent, str) or not sent:
        return _oauth_error("invalid_request", 400)
    if not grants.revoke_token(dialect, sent) and DIALECTS[dialect].refuses_ended_tokens:
        return _oauth_error("invalid_token", 400)
    return Response(status=200)


# --- Organisation look-ups -----------------------------------------------------------------


def _bearer(dialect: str) -> SandboxToken | None:
    """The live access token of ``dialect`` the request carries, if any.

    Zoho documents its own scheme, ``Zoho-oauthtoken``; Bearer is accepted there too.
    """
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    schemes = {"bearer", "zoho-oauthtoken"} if dialect == "zoho_books" else {"bearer"}
    if scheme.lower() not in schemes or not value.strip():
        return None
    return usable_token(dialect, value.strip())


def _unauthorised(dialect: str) -> ResponseReturnValue:
    message = "The access token is missing, expired or revoked."
    if dialect == "wave":
        return jsonify(lookups.graphql_error(message, "UNAUTHENTICATED")), 401
    if dialect == "business_central":
        return jsonify(lookups.odata_error("Authentication_InvalidCredentials", message)), 401
    answer = jsonify(error="invalid_token", error_description=message)
    answer.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return answer, 401


def _api_base(dialect: str) -> str:
    return dialect_base(issuer(), dialect)


def xero_connections(found: SandboxToken) -> ResponseReturnValue:
    """GET /connections: the organisations this user connected to this app."""
    mine = [
        grant
        for grant in grants.granted(found.user_email, "xero")
        if grant.client_id == found.client_id and not grant.organisation_removed
    ]
    return jsonify(lookups.xero_connections(mine, request.args.get("authEventId")))


def xero_disconnect(found: SandboxToken, connection_id: str) -> ResponseReturnValue:
    """DELETE /connections/<id>: end that organisation's access (a tenantId is no id)."""
    for grant in grants.granted(found.user_email, "xero"):
        if (
            grant.client_id == found.client_id
            and lookups.xero_connection_id(grant) == connection_id
        ):
            grants.revoke(found.user_email, grant.organisation.id, "xero")
            return Response(status=204)
    return Response(status=404)


def xero_users(found: SandboxToken) -> ResponseReturnValue:
    """GET /api.xro/2.0/Users: the users of the organisation the ``xero-tenant-id`` header
    names, each with their OrganisationRole; only for an organisation this user connected
    to this app, and with the scope Xero asks (accounting.settings or .settings.read)."""
    tenant = request.headers.get("xero-tenant-id", "")
    connected = next(
        (
            grant.organisation
            for grant in grants.granted(found.user_email, "xero")
            if grant.client_id == found.client_id
            and not grant.organisation_removed
            and dialect_organisation_id("xero", grant.organisation) == tenant
        ),
        None,
    )
    scopes = set(found.scope.split())
    if connected is None or not scopes & {"accounting.settings", "accounting.settings.read"}:
        # Not documented by Xero: the body of this refusal.
        return jsonify(Title="Forbidden", Status=403, Detail="AuthorizationUnsuccessful"), 403
    return jsonify(lookups.xero_users(connected, utcnow()))


def quickbooks_company_info(
    found: SandboxToken, realm_id: str, company_id: str
) -> ResponseReturnValue:
    """GET /v3/company/<realmId>/companyinfo/<realmId>: only the token's own company."""
    organisation = find_organisation(found.organisation_id)
    mine = None if organisation is None else dialect_organisation_id("quickbooks", organisation)
    if organisation is None or realm_id != mine or company_id != mine:
        fault = lookups.quickbooks_fault(
            "AuthorizationFault", "The token does not reach this company.", utcnow()
        )
        return jsonify(fault), 403
    if grants.organisation_removed(found.grant_id):
        fault = lookups.quickbooks_fault(
            "ValidationFault", "Object Not Found: the company is gone.", utcnow(), "610"
        )
        return jsonify(fault), 404
    return jsonify(lookups.quickbooks_company_info(organisation, utcnow()))


def sage_businesses(found: SandboxToken) -> ResponseReturnValue:
    """GET /v3.1/businesses: every business of the user."""
    return jsonify(lookups.sage_businesses(grants.visible_organisations(found)))


def freeagent_company(found: SandboxToken) -> ResponseReturnValue:
    """GET /v2/company: the company the token was issued for."""
    organisation = find_organisation(found.organisation_id)
    if organisation is None or grants.organisation_removed(found.grant_id):
        return _oauth_error("not_found", 404)
    return jsonify(lookups.freeagent_company(organisation, _api_base("freeagent")))


def freshbooks_me(found: SandboxToken) -> ResponseReturnValue:
    """GET /auth/api/v1/users/me: the user and their business memberships, each with the
    user's role there."""
    user = find_user(found.user_email) or DEMO
    return jsonify(lookups.freshbooks_me(grants.visible_organisations(found), user))


def zoho_organizations(found: SandboxToken) -> ResponseReturnValue:
    """GET /books/v3/organizations: every organisation of the user."""
    return jsonify(lookups.zoho_organizations(grants.visible_organisations(found)))


def wave_graphql(found: SandboxToken) -> ResponseReturnValue:
    """POST /graphql/public: answers a query for ``businesses`` (and only that)."""
    payload = request.get_json(silent=True)
    query = payload.get("query") if isinstance(payload, dict) else None
    if not isinstance(query, str) or not query.strip():
        return jsonify(lookups.graphql_error("Send a JSON body with a query.", "BAD_REQUEST")), 400
    if "businesses" not in query:
        message = "The Sandbox playing Wave answers only the businesses query."
        return jsonify(lookups.graphql_error(message, "GRAPHQL_VALIDATION_FAILED")), 400
    return jsonify(lookups.wave_businesses(grants.visible_organisations(found)))


def business_central_environments(_found: SandboxToken) -> ResponseReturnValue:
    """GET /environments/v1.2: the tenant's environments."""
    return jsonify(lookups.business_central_environments(_api_base("business_central")))


def business_central_companies(
    found: SandboxToken, environment: str, tenant: str | None = None
) -> ResponseReturnValue:
    """GET /v2.0/[<tenant>/]<environment>/api/v2.0/companies: the environment's companies."""
    base = _api_base("business_central")
    visible = grants.visible_organisations(found)
    companies = lookups.business_central_companies(environment, base, visible)
    if companies is None or tenant not in (None, lookups.BUSINESS_CENTRAL_TENANT):
        message = f"Cannot find the environment {environment!r}."
        return jsonify(lookups.odata_error("NoEnvironmentFound", message)), 404
    return jsonify(companies)


# (dialect, path, method, handler): the look-ups a bearer token opens.
LOOKUPS: tuple[tuple[str, str, str, Callable[..., ResponseReturnValue]], ...] = (
    ("xero", "/connections", "GET", xero_connections),
    ("xero", "/connections/<connection_id>", "DELETE", xero_disconnect),
    ("xero", "/api.xro/2.0/Users", "GET", xero_users),
    (
        "quickbooks",
        "/v3/company/<realm_id>/companyinfo/<company_id>",
        "GET",
        quickbooks_company_info,
    ),
    ("sage", "/v3.1/businesses", "GET", sage_businesses),
    ("freeagent", "/v2/company", "GET", freeagent_company),
    ("freshbooks", "/auth/api/v1/users/me", "GET", freshbooks_me),
    ("zoho_books", "/books/v3/organizations", "GET", zoho_organizations),
    ("wave", "/graphql/public", "POST", wave_graphql),
    ("business_central", "/environments/v1.2", "GET", business_central_environments),
    (
        "business_central",
        "/v2.0/<environment>/api/v2.0/companies",
        "GET",
        business_central_companies,
    ),
    (
        "business_central",
        "/v2.0/<tenant>/<environment>/api/v2.0/companies",
        "GET",
        business_central_companies,
    ),
)


def lookup(dialect: str, handler: str, **path: str) -> ResponseReturnValue:
    """Any look-up: the bearer token must be a live one issued in this dialect.

    ``SANDBOX_THROTTLE_SECONDS`` set: every look-up answers 429 with that Retry-After, as a
    vendor does when an app calls too often."""
    throttle = current_app.config.get("SANDBOX_THROTTLE_SECONDS")
    if throttle:
        limited = jsonify(error="rate_limited", error_description="Too many requests.")
        limited.headers["Retry-After"] = str(int(throttle))
        return limited, 429
    found = _bearer(dialect)
    if found is None:
        return _unauthorised(dialect)
    answer: ResponseReturnValue = HANDLERS[handler](found, **path)
    return answer


HANDLERS: dict[str, Callable[..., ResponseReturnValue]] = {
    handler.__name__: handler for _dialect, _path, _method, handler in LOOKUPS
}


def _register() -> None:
    for key in VENDOR_DIALECTS:
        dialect = DIALECTS[key]
        prefix = f"/{key}"
        bp.add_url_rule(
            prefix + dialect.authorize_path,
            f"{key}_authorize",
            authorize,
            methods=["GET", "POST"],
            defaults={"dialect": key},
        )
        bp.add_url_rule(
            prefix + dialect.token_path,
            f"{key}_token",
            token,
            methods=["POST"],
            defaults={"dialect": key},
        )
        if dialect.revoke_path is not None:
            bp.add_url_rule(
                prefix + dialect.revoke_path,
                f"{key}_revoke",
                revoke,
                methods=["POST"],
                defaults={"dialect": key},
            )
    for index, (key, path, method, handler) in enumerate(LOOKUPS):
        bp.add_url_rule(
            f"/{key}{path}",
            f"{key}_lookup_{index}",
            lookup,
            methods=[method],
            defaults={"dialect": key, "handler": handler.__name__},
        )


_register()

# Machine-to-machine endpoints: clients authenticate with secrets or tokens, not cookies.
MACHINE_VIEWS: tuple[Callable[..., Any], ...] = (token, revoke, lookup)

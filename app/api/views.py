"""The JSON API (``/api/v1``) for the business's backend, and its OpenAPI document.

Every operation is declared with ``@api.operation`` (app/api/operations.py): the same
declaration validates the request and describes the operation in /api/openapi.json.
Authentication is checked once, here, before any operation runs: an API key in
``Authorization: Bearer``, never a session cookie.
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, current_app, g, request
from flask.blueprints import BlueprintSetupState
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.routing import Rule

from app.api import keys, schemas, service
from app.api.openapi import build_document
from app.api.operations import PathParam, Registry, Reply
from app.audit import record as audit
from app.connections.credentials import CredentialUnavailable, current_credential
from app.extensions import db
from app.files import CONTENT_TYPES
from app.models import ApiKey, WebhookEndpoint
from app.problems import FieldError, Problem, http_problem
from app.webhooks import encryption as webhook_encryption
from app.webhooks import endpoints as webhook_endpoints
from app.webhooks import mutual_tls

bp = Blueprint("api", __name__, url_prefix="/api")
api = Registry(bp, prefix="/api")

EXTERNAL_ID = PathParam(
    "The customer's id in the business's own systems.",
    schemas.EXTERNAL_ID_PATTERN,
    refuse_as="invalid-parameter",
)
CONSENT_ID = PathParam("A consent record's id.", schemas.PUBLIC_ID_PATTERN)
CONNECTION_ID = PathParam("A connection's id.", schemas.PUBLIC_ID_PATTERN)
ENDPOINT_ID = PathParam("A webhook endpoint's id.", schemas.PUBLIC_ID_PATTERN)
UPLOAD_ID = PathParam("An uploaded file's id.", schemas.PUBLIC_ID_PATTERN)
LINK_ID = PathParam("A journey link's id.", schemas.PUBLIC_ID_PATTERN)
PROBE_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _api_key() -> ApiKey:
    api_key: ApiKey = g.api_key
    return api_key


@bp.before_request
def _authenticate() -> None:
    request.max_content_length = current_app.config["API_MAX_BODY_BYTES"]
    operation = api.for_endpoint(request.endpoint)
    if operation is None or operation.scope is None:
        return
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Problem(
            "authentication-required",
            "Send an API key as Authorization: Bearer <key> (create one with "
            "`flask api-keys create`).",
            headers={"WWW-Authenticate": 'Bearer realm="onramp"'},
        )
    api_key = keys.authenticate(key.strip())
    if api_key is None:
        raise Problem(
            "authentication-required",
            "This API key is not valid: it is unknown, mistyped or revoked.",
            headers={"WWW-Authenticate": 'Bearer realm="onramp", error="invalid_token"'},
        )
    if operation.scope not in api_key.scope_set:
        raise Problem(
            "insufficient-scope",
            f"This needs an API key with the {operation.scope!r} scope.",
            headers={
                "WWW-Authenticate": f'Bearer realm="onramp", error="insufficient_scope", '
                f'scope="{operation.scope}"'
            },
        )
    g.api_key = api_key


@bp.errorhandler(Problem)
def _problem(problem: Problem) -> Response:
    return problem.response()


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    if status >= 500:
        return _internal_error(exc)
    detail = {
        413: f"Send at most {current_app.config['API_MAX_BODY_BYTES']} bytes.",
        405: "This method is not allowed on this path.",
    }.get(status, exc.description or "")
    return http_problem(status, str(detail))


@bp.errorhandler(InternalServerError)
def _internal_error(_: Exception) -> Response:
    db.session.rollback()
    return Problem("internal-error", "The request failed on our side; try again later.").response()


def _no_such_route(rest: str) -> Response:
    """Every other path or method under /api: a 405 naming the allowed methods, or a 404."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    allowed = []
    for method in PROBE_METHODS:
        endpoint, _ = adapter.match(request.path, method=method)
        if endpoint != "api._no_such_route":
            allowed.append(method)
    if allowed:
        return Problem(
            "method-not-allowed",
            f"Use {', '.join(allowed)} on this path.",
            headers={"Allow": ", ".join(allowed)},
        ).response()
    return Problem("not-found", "There is no API endpoint at this path.").response()


@bp.record_once
def _route_every_method(state: BlueprintSetupState) -> None:
    # Flask gives each rule a list of methods, so TRACE or a made-up method would fail in
    # routing, before the API's handlers apply (the site's HTML 405). A werkzeug Rule
    # without methods takes any: every request under /api is the API's to answer.
    state.app.view_functions["api._no_such_route"] = _no_such_route
    for rule, defaults in (("/", {"rest": ""}), ("/<path:rest>", None)):
        state.app.url_map.add(
            Rule(f"{bp.url_prefix}{rule}", endpoint="api._no_such_route", defaults=defaults)
        )


# OPTIONS is not an operation of the document either: no automatic answer listing methods.
@bp.get("/openapi.json", provide_automatic_options=False)
def openapi() -> Response:
    """The OpenAPI 3.1 description of this API, built from the operations themselves."""
    document = build_document(api, current_app.config)
    return Response(json.dumps(document), mimetype="application/json")


# Journeys


@api.operation(
    "GET",
    "/v1/journeys",
    summary="List the journeys links can start",
    tag="Journeys",
    scope="read",
    response=schemas.JourneyList,
)
def list_journeys() -> schemas.JourneyList:
    """The journeys of this instance, with the locales and platforms each offers."""
    return schemas.JourneyList(data=service.journeys())


# Customers


@api.operation(
    "PUT",
    "/v1/customers/<external_id>",
    summary="Create or update a customer",
    tag="Customers",
    scope="write",
    body=schemas.CustomerRequest,
    response=schemas.Customer,
    status=200,
    also=(201,),
    path={"external_id": EXTERNAL_ID},
)
def put_customer(external_id: str, body: schemas.CustomerRequest) -> Reply:
    """Creates the customer with this external id (201), or updates their name and email (200)."""
    customer, created = service.put_customer(external_id, body, _api_key())
    return Reply(service.present_customer(customer), 201 if created else 200)


@api.operation(
    "GET",
    "/v1/customers/<external_id>",
    summary="Read a customer with their runs, consents and connections",
    tag="Customers",
    scope="read",
    response=schemas.Customer,
    path={"external_id": EXTERNAL_ID},
    errors=(404,),
)
def get_customer(external_id: str) -> schemas.Customer:
    """The customer, every journey run, every consent decision and every connection."""
    return service.present_customer(service.get_customer(external_id))


@api.operation(
    "POST",
    "/v1/customers/<external_id>/links",
    summary="Create a journey link for a customer",
    tag="Customers",
    scope="write",
    body=schemas.LinkRequest,
    body_required=False,
    response=schemas.Link,
    status=201,
    path={"external_id": EXTERNAL_ID},
    errors=(404, 409),
)
def create_link(external_id: str, body: schemas.LinkRequest) -> schemas.Link:
    """A signed link that starts (or resumes) the customer's journey: send it to them, or
    ask Onramp to email it (``send_email``). Onramp keeps a record of it (not the link):
    read, revoke or reissue it by its id.

    409 when ``send_email`` is asked but mail is not configured on this instance.
    """
    return service.create_link(service.get_customer(external_id), body, _api_key())


@api.operation(
    "GET",
    "/v1/links/<link_id>",
    summary="Read a journey link's state",
    tag="Links",
    scope="read",
    response=schemas.Link,
    path={"link_id": LINK_ID},
    errors=(404,),
)
def get_link(link_id: str) -> schemas.Link:
    """Whether it was emailed, bounced, opened, used, revoked or expired (the link itself
    is not kept: url is null)."""
    return service.present_link(service.get_link(link_id))


@api.operation(
    "POST",
    "/v1/links/<link_id>/revoke",
    summary="Revoke a journey link",
    tag="Links",
    scope="write",
    response=schemas.Link,
    path={"link_id": LINK_ID},
    errors=(404,),
)
def revoke_link(link_id: str) -> schemas.Link:
    """Stops the link at once, even in a browser that opened it: the customer sees that it
    was withdrawn. Revoking a revoked link changes nothing and answers the same (200)."""
    return service.revoke_link(service.get_link(link_id), _api_key())


@api.operation(
    "POST",
    "/v1/links/<link_id>/reissue",
    summary="Reissue a journey link",
    tag="Links",
    scope="write",
    response=schemas.Link,
    status=201,
    path={"link_id": LINK_ID},
    errors=(404, 409),
)
def reissue_link(link_id: str) -> schemas.Link:
    """Revokes the link (if it is not yet) and makes a new one with the same journey and
    options, working as long as the first was made to; emailed again if the first was.
    The answer is the new link, with its url.

    409 when the link was reissued already (reissue the newer one, named in the detail), or
    when it was emailed and mail is no longer configured.
    """
    return service.reissue_link(service.get_link(link_id), _api_key())


# Consents


@api.operation(
    "GET",
    "/v1/consents",
    summary="List consent records",
    tag="Consents",
    scope="read",
    query=schemas.ConsentQuery,
    response=schemas.ConsentPage,
)
def list_consents(query: schemas.ConsentQuery) -> schemas.ConsentPage:
    """Every consent decision, oldest first, filtered; follow next_cursor for more."""
    page = service.consent_page(query)
    return schemas.ConsentPage(
        data=service.present_consents(page.items), next_cursor=page.next_cursor
    )


@api.operation(
    "POST",
    "/v1/consents/<consent_id>/withdraw",
    summary="Withdraw a consent on the customer's behalf",
    tag="Consents",
    scope="write",
    response=schemas.Consent,
    path={"consent_id": CONSENT_ID},
    errors=(404, 409),
)
def withdraw_consent(consent_id: str) -> schemas.Consent:
    """Records a withdrawal of the consent item this record is about, and returns it.

    409 when the item's latest decision is not a grant (nothing to withdraw).
    """
    withdrawn = service.withdraw_consent(service.get_consent(consent_id), _api_key())
    [presented] = service.present_consents([withdrawn])
    return presented


# Connections


@api.operation(
    "GET",
    "/v1/connections",
    summary="List connections",
    tag="Connections",
    scope="read",
    query=schemas.ConnectionQuery,
    response=schemas.ConnectionPage,
)
def list_connections(query: schemas.ConnectionQuery) -> schemas.ConnectionPage:
    """Every connection, oldest first, filtered; follow next_cursor for more."""
    page = service.connection_page(query)
    return schemas.ConnectionPage(
        data=service.present_connections(page.items), next_cursor=page.next_cursor
    )


@api.operation(
    "GET",
    "/v1/connections/<connection_id>",
    summary="Read a connection",
    tag="Connections",
    scope="read",
    response=schemas.Connection,
    path={"connection_id": CONNECTION_ID},
    errors=(404,),
)
def get_connection(connection_id: str) -> schemas.Connection:
    """One connection: platform, organisation, status and why it ended, if it did."""
    [presented] = service.present_connections([service.get_connection(connection_id)])
    return presented


@api.operation(
    "POST",
    "/v1/connections/<connection_id>/disconnect",
    summary="Disconnect a connection on the customer's behalf",
    tag="Connections",
    scope="write",
    response=schemas.Connection,
    path={"connection_id": CONNECTION_ID},
    errors=(404,),
)
def disconnect_connection(connection_id: str) -> schemas.Connection:
    """Revokes access at the platform where it can and deletes the tokens.

    Disconnecting a connection that is already disconnected changes nothing.
    """
    connection = service.disconnect_connection(service.get_connection(connection_id), _api_key())
    [presented] = service.present_connections([connection])
    return presented


@api.operation(
    "POST",
    "/v1/connections/<connection_id>/repair-link",
    summary="Create a link that repairs a broken connection, keeping its id",
    tag="Connections",
    scope="write",
    body=schemas.RepairLinkRequest,
    body_required=False,
    response=schemas.RepairLink,
    status=201,
    path={"connection_id": CONNECTION_ID},
    errors=(404, 409),
)
def create_repair_link(connection_id: str, body: schemas.RepairLinkRequest) -> schemas.RepairLink:
    """A signed link that takes the customer straight to their software's sign-in; the same
    organisation must be chosen, and the same connection is linked again.

    409 when the connection needs no repair (linked and not about to expire) or cannot
    have one (it never linked an organisation, or its customer was erased).
    """
    return service.create_repair_link(service.get_connection(connection_id), body)


@api.operation(
    "GET",
    "/v1/connections/<connection_id>/credentials",
    summary="Get a current access token for a linked connection",
    tag="Connections",
    scope="credentials",
    response=schemas.Credential,
    path={"connection_id": CONNECTION_ID},
    errors=(404, 409, 503),
)
def get_credentials(connection_id: str) -> schemas.Credential:
    """The access token to call the platform's API with, refreshed first when it is
    near expiry. Needs the ``credentials`` scope; every call is in the audit trail.

    409 when the connection is not linked (or the platform refused the refresh: the
    customer must reconnect); 503 when the token has expired and the platform could
    not be reached to refresh it.
    """
    connection = service.get_connection(connection_id)
    try:
        credential = current_credential(connection, service.credentials_lead())
    except CredentialUnavailable as exc:
        _audit_credentials(connection.public_id, {"outcome": exc.reason})
        if exc.reason == "provider_unavailable":
            raise Problem(
                "provider-unavailable",
                "The access token has expired and the platform could not be reached to "
                "refresh it; try again later.",
                headers={"Retry-After": "30"},
            ) from exc
        raise Problem(
            "conflict",
            f"The connection is {exc.status}, not linked: the customer must connect again.",
        ) from exc
    _audit_credentials(
        connection.public_id,
        {
            "outcome": "issued",
            "refreshed": credential.refreshed,
            "expires_at": credential.expires_at.isoformat() if credential.expires_at else None,
        },
    )
    return schemas.Credential(
        access_token=credential.access_token,
        token_type=credential.token_type,
        expires_at=credential.expires_at,
        organisation_id=credential.organisation_id,
        organisation_details=credential.organisation_details,
        platform=credential.platform,
    )


def _audit_credentials(connection_id: str, after: dict[str, object]) -> None:
    # The entry says who read a credential and when, never the token itself.
    audit(
        "api_key", _api_key().prefix, "credentials.read", "connection", connection_id, None, after
    )
    db.session.commit()


# Uploads


@api.operation(
    "GET",
    "/v1/customers/<external_id>/uploads",
    summary="List the files a customer uploaded",
    tag="Uploads",
    scope="read",
    response=schemas.UploadList,
    path={"external_id": EXTERNAL_ID},
    errors=(404,),
)
def list_uploads(external_id: str) -> schemas.UploadList:
    """The files the customer uploaded instead of connecting, oldest first: names, kinds,
    sizes and checksums (the content needs the ``files`` scope)."""
    customer = service.get_customer(external_id)
    return schemas.UploadList(data=service.present_uploads(service.customer_uploads(customer)))


@api.operation(
    "GET",
    "/v1/uploads/<upload_id>",
    summary="Read an uploaded file's details",
    tag="Uploads",
    scope="read",
    response=schemas.Upload,
    path={"upload_id": UPLOAD_ID},
    errors=(404,),
)
def get_upload(upload_id: str) -> schemas.Upload:
    """One uploaded file: name, kind, size, checksum, and whether it can be downloaded."""
    [presented] = service.present_uploads([service.get_upload(upload_id)])
    return presented


@api.operation(
    "GET",
    "/v1/uploads/<upload_id>/content",
    summary="Download an uploaded file",
    tag="Uploads",
    scope="files",
    response=None,
    path={"upload_id": UPLOAD_ID},
    errors=(404, 409),
    binary=tuple(CONTENT_TYPES.values()),
)
def download_upload(upload_id: str) -> Response:
    """The file's original bytes, as an attachment. Needs the ``files`` scope; every
    download is in the audit trail.

    409 when the consent covering the file was withdrawn or has expired (or the
    customer was erased): the file is not handed out.
    """
    upload = service.get_upload(upload_id)
    try:
        data = service.upload_content(upload)
    except Problem:
        _audit_download(upload.public_id, {"outcome": "refused"})
        raise
    _audit_download(upload.public_id, {"outcome": "issued", "sha256": upload.sha256})
    response = Response(data, mimetype=upload.content_type)
    response.headers.set("Content-Disposition", "attachment", filename=upload.filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _audit_download(upload_id: str, after: dict[str, object]) -> None:
    audit("api_key", _api_key().prefix, "upload.download", "upload", upload_id, None, after)
    db.session.commit()


# Webhook endpoints


def _present_endpoint(endpoint: WebhookEndpoint) -> dict[str, object]:
    return {
        "id": endpoint.public_id,
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": list(endpoint.event_types or []),
        "status": endpoint.status,
        "disabled_reason": endpoint.disabled_reason,
        "created_at": endpoint.created_at,
        "encryption": webhook_encryption.summary(endpoint),
        "tls": _present_tls(mutual_tls.describe(endpoint)),
    }


def _present_tls(described: dict[str, list[mutual_tls.CertificateInfo]]) -> dict[str, object]:
    return {name: [c.as_dict() for c in certificates] for name, certificates in described.items()}


@api.operation(
    "GET",
    "/v1/webhook-endpoints",
    summary="List webhook endpoints",
    tag="Webhooks",
    scope="read",
    response=schemas.WebhookEndpointList,
)
def list_webhook_endpoints() -> schemas.WebhookEndpointList:
    """Where events are sent (removed endpoints are not listed). Secrets are never shown."""
    return schemas.WebhookEndpointList(
        data=[
            schemas.WebhookEndpoint.model_validate(_present_endpoint(e))
            for e in webhook_endpoints.list_endpoints()
            if e.disabled_reason != "removed"
        ]
    )


@api.operation(
    "POST",
    "/v1/webhook-endpoints",
    summary="Register a webhook endpoint",
    tag="Webhooks",
    scope="write",
    body=schemas.WebhookEndpointRequest,
    response=schemas.WebhookEndpointCreated,
    status=201,
)
def create_webhook_endpoint(body: schemas.WebhookEndpointRequest) -> schemas.WebhookEndpointCreated:
    """Registers a URL for events; the response carries its signing secret, shown only once.

    The URL must be https and reach a public address (docs/webhooks.md).
    """
    try:
        endpoint, secret = webhook_endpoints.add_endpoint(
            body.url, list(body.event_types), body.description
        )
        if body.public_key is not None:
            webhook_encryption.set_key(endpoint, body.public_key)
        mutual_tls.configure(
            endpoint,
            client_certificate=body.client_certificate,
            client_key=body.client_key,
            pinned_ca=body.pinned_ca,
        )
    except webhook_endpoints.EndpointRefused as exc:
        raise _refused(exc) from exc
    audit(
        "api_key",
        _api_key().prefix,
        "webhook_endpoint.create",
        "webhook_endpoint",
        endpoint.public_id,
        None,
        {"url": endpoint.url, "event_types": list(endpoint.event_types)},
    )
    db.session.commit()
    return schemas.WebhookEndpointCreated.model_validate(
        {**_present_endpoint(endpoint), "secret": secret}
    )


@api.operation(
    "PATCH",
    "/v1/webhook-endpoints/<endpoint_id>/tls",
    summary="Set a webhook endpoint's mutual TLS",
    tag="Webhooks",
    scope="write",
    body=schemas.WebhookEndpointTLSRequest,
    response=schemas.WebhookEndpoint,
    path={"endpoint_id": ENDPOINT_ID},
    errors=(404,),
)
def update_webhook_endpoint_tls(
    endpoint_id: str, body: schemas.WebhookEndpointTLSRequest
) -> schemas.WebhookEndpoint:
    """Sets, rotates or removes the client certificate presented to the receiver, and pins
    or unpins the CA its certificate must chain to. Keys are never shown back."""
    endpoint = _live_endpoint(endpoint_id)
    try:
        described = mutual_tls.configure(endpoint, **body.model_dump())
    except webhook_endpoints.EndpointRefused as exc:
        raise _refused(exc) from exc
    after = {
        name: [c.fingerprint_sha256 for c in certificates]
        for name, certificates in described.items()
    }
    audit(
        "api_key",
        _api_key().prefix,
        "webhook_endpoint.tls",
        "webhook_endpoint",
        endpoint.public_id,
        None,
        after,
    )
    db.session.commit()
    return schemas.WebhookEndpoint.model_validate(_present_endpoint(endpoint))


@api.operation(
    "DELETE",
    "/v1/webhook-endpoints/<endpoint_id>",
    summary="Remove a webhook endpoint",
    tag="Webhooks",
    scope="write",
    response=None,
    status=204,
    path={"endpoint_id": ENDPOINT_ID},
    errors=(404,),
)
def delete_webhook_endpoint(endpoint_id: str) -> None:
    """Stops sending to the endpoint and cancels what is waiting; its history is kept."""
    endpoint = _live_endpoint(endpoint_id)
    before = {"status": endpoint.status}
    webhook_endpoints.remove_endpoint(endpoint)
    audit(
        "api_key",
        _api_key().prefix,
        "webhook_endpoint.remove",
        "webhook_endpoint",
        endpoint.public_id,
        before,
        {"status": endpoint.status, "reason": endpoint.disabled_reason},
    )
    db.session.commit()


@api.operation(
    "PUT",
    "/v1/webhook-endpoints/<endpoint_id>/encryption-key",
    summary="Encrypt a webhook endpoint's payloads to a public key",
    tag="Webhooks",
    scope="write",
    body=schemas.WebhookEncryptionKeyRequest,
    response=schemas.WebhookEndpoint,
    path={"endpoint_id": ENDPOINT_ID},
    errors=(404,),
)
def set_webhook_encryption_key(
    endpoint_id: str, body: schemas.WebhookEncryptionKeyRequest
) -> schemas.WebhookEndpoint:
    """Sets or replaces the receiver's public key; later attempts are sent as a compact JWE."""
    endpoint = _live_endpoint(endpoint_id)
    try:
        webhook_encryption.replace_key(endpoint, body.public_key, "api_key", _api_key().prefix)
    except webhook_endpoints.EndpointRefused as exc:
        raise _refused(exc) from exc
    return _key_changed(endpoint)


@api.operation(
    "DELETE",
    "/v1/webhook-endpoints/<endpoint_id>/encryption-key",
    summary="Send a webhook endpoint's payloads unencrypted again",
    tag="Webhooks",
    scope="write",
    response=schemas.WebhookEndpoint,
    path={"endpoint_id": ENDPOINT_ID},
    errors=(404,),
)
def remove_webhook_encryption_key(endpoint_id: str) -> schemas.WebhookEndpoint:
    """Removes the receiver's public key; later attempts are sent as signed JSON."""
    endpoint = _live_endpoint(endpoint_id)
    webhook_encryption.drop_key(endpoint, "api_key", _api_key().prefix)
    return _key_changed(endpoint)


def _refused(exc: webhook_endpoints.EndpointRefused) -> Problem:
    db.session.rollback()
    return Problem(
        "validation-error", f"Check this field: {exc.field}.", [FieldError(exc.field, exc.message)]
    )


def _live_endpoint(endpoint_id: str) -> WebhookEndpoint:
    endpoint = webhook_endpoints.get_endpoint(endpoint_id)
    if endpoint is None or endpoint.disabled_reason == "removed":
        raise Problem("not-found", f"No webhook endpoint has the id {endpoint_id!r}.")
    return endpoint


def _key_changed(endpoint: WebhookEndpoint) -> schemas.WebhookEndpoint:
    db.session.commit()
    return schemas.WebhookEndpoint.model_validate(_present_endpoint(endpoint))

"""What the API accepts and returns: pydantic models, also the source of the OpenAPI document.

Requests are strict: unknown fields are refused and no type is coerced (``"5"`` is
not a number). Responses carry public ids only, and never a token or secret except
where an endpoint exists to hand one over (credentials, a new webhook secret).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    field_validator,
)

from app.webhooks.outbox import EVENT_TYPES

EXTERNAL_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,199}$"
PUBLIC_ID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
JOURNEY_ID_PATTERN = r"^[a-z][a-z0-9_-]{0,63}$"
LOCALE_PATTERN = r"^[a-z]{2}(-[A-Z]{2})?$"
# A cursor is URL-safe base64 and dots (app/api/pagination.py).
CURSOR_PATTERN = r"^[A-Za-z0-9_.-]+$"
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 50
# RFC 3339's date-time (section 5.6), what the document's format: date-time promises.
RFC3339_DATE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})"
)
PUBLIC_KEY_DOC = (
    "The receiver's PUBLIC key, as a JWK object or PEM text (RSA of 2048 bits or more, EC "
    "P-256/P-384, or X25519): payloads are then sent as a compact JWE encrypted to it."
)
# The shortest link worth sending.
MIN_LINK_SECONDS = 60

EventType = Literal[EVENT_TYPES]  # type: ignore[valid-type]
RunStatus = Literal["active", "declined", "completed", "purged"]
Decision = Literal["granted", "declined", "withdrawn", "reconfirmed", "expired", "scoped"]
ConnectionStatus = Literal["pending", "linked", "failed", "deauthorized", "disconnected"]


def _integral_number(value: Any) -> Any:
    # JSON has one number type: 300.0 is the integer 300 (as JSON Schema says), 300.5 is
    # not; "300" and true stay refused by the strict model.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _rfc3339(value: Any) -> Any:
    # pydantic would also read "0.5" or "1700000000" as Unix time, and a bare date.
    if isinstance(value, str) and not RFC3339_DATE_TIME.fullmatch(value):
        raise ValueError("must be an RFC 3339 date-time with an offset, e.g. 2026-01-31T09:00:00Z")
    return value


DateTimeParameter = Annotated[AwareDatetime, BeforeValidator(_rfc3339)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)


class _Query(BaseModel):
    # Query strings are text: numbers and dates are parsed from it, unknown names refused.
    model_config = ConfigDict(extra="forbid")


class _Response(BaseModel):
    model_config = ConfigDict(from_attributes=True)


# Requests


class CustomerRequest(_Request):
    """A customer as the business knows them; PUT replaces both fields."""

    name: str = Field(min_length=1, max_length=200, description="The customer's business name.")
    email: EmailStr = Field(max_length=320, description="Where the business writes to them.")


class LinkRequest(_Request):
    """A journey link for a customer; every field is optional."""

    journey_id: str | None = Field(
        default=None,
        pattern=JOURNEY_ID_PATTERN,
        description="A journey id from GET /api/v1/journeys (default: the default journey).",
    )
    locale: str | None = Field(
        default=None,
        pattern=LOCALE_PATTERN,
        description="One of the journey's locales (default: the customer's browser's).",
    )
    platform: str | None = Field(
        default=None,
        pattern=r"^[a-z][a-z0-9_]{0,49}$",
        description="Pre-select a platform the journey offers: the customer skips the picker.",
    )
    return_url: str | None = Field(
        default=None,
        max_length=2000,
        description="Where the done page sends the customer back to; must be allowed by the "
        "journey's integration.return_urls.",
    )
    expires_in: int | None = Field(
        default=None,
        ge=MIN_LINK_SECONDS,
        description="Seconds until the link stops working (default and maximum: the "
        "instance's LINK_MAX_AGE_SECONDS).",
    )
    reconnect: str | None = Field(
        default=None,
        pattern=PUBLIC_ID_PATTERN,
        description="Re-authorize this connection of the customer's (its id): the customer "
        "signs in to the same platform again and only the same organisation is accepted. "
        "The journey defaults to 'reconnect' when the instance has one, else the one the "
        "connection was made in.",
    )
    send_email: bool = Field(
        default=False,
        description="Email the link to the customer's address in the business's name. Only "
        "where mail is configured: otherwise 409 and no link is made.",
    )
    single_use: bool = Field(
        default=False,
        description="The link works only in the first browser that opens it; any other "
        "browser gets a page saying it was used.",
    )

    _integral = field_validator("expires_in", mode="before")(_integral_number)


# A certificate, a 4096-bit RSA key and a small CA bundle fit together in the API's body
# limit (API_MAX_BODY_BYTES, 16 KiB by default); a body past it is refused with 413.
PEM_MAX = 8000
PEM_CERT = (
    "A client certificate (PEM) presented to the receiver; a new one rotates, the previous "
    "one staying usable during the grace period."
)
PEM_KEY = "The client certificate's private key (PEM, unencrypted); never shown back."
PEM_CA = "PEM certificates trusted for the receiver instead of the system's CAs (a pinned CA)."


class WebhookEndpointRequest(_Request):
    url: str = Field(
        min_length=1, max_length=2000, description="An https URL that receives events."
    )
    event_types: list[EventType] = Field(
        default_factory=list, description="The event types sent there; empty means all."
    )
    description: str | None = Field(default=None, max_length=500)
    # Encrypted payloads (app/webhooks/encryption.py); checked there, so any JSON is let in.
    public_key: str | dict[str, Any] | None = Field(default=None, description=PUBLIC_KEY_DOC)
    # Mutual TLS (docs/webhooks.md): optional at registration.
    client_certificate: str | None = Field(default=None, max_length=PEM_MAX, description=PEM_CERT)
    client_key: str | None = Field(default=None, max_length=PEM_MAX, description=PEM_KEY)
    pinned_ca: str | None = Field(default=None, max_length=PEM_MAX, description=PEM_CA)


class WebhookEncryptionKeyRequest(_Request):
    public_key: str | dict[str, Any] = Field(description=PUBLIC_KEY_DOC)


class WebhookEndpointTLSRequest(_Request):
    """Mutual TLS for an endpoint; fields left out are left as they are."""

    client_certificate: str | None = Field(default=None, max_length=PEM_MAX, description=PEM_CERT)
    client_key: str | None = Field(default=None, max_length=PEM_MAX, description=PEM_KEY)
    remove_client_certificate: bool = Field(
        default=False, description="Stop presenting any client certificate now."
    )
    pinned_ca: str | None = Field(default=None, max_length=PEM_MAX, description=PEM_CA)
    clear_pinned_ca: bool = Field(default=False, description="Trust the system's CAs again.")


class ConsentQuery(_Query):
    customer: str | None = Field(
        default=None, pattern=EXTERNAL_ID_PATTERN, description="The customer's external_id."
    )
    journey_id: str | None = Field(default=None, pattern=JOURNEY_ID_PATTERN)
    item: str | None = Field(default=None, max_length=100, description="A consent item key.")
    decision: Decision | None = None
    since: DateTimeParameter | None = Field(
        default=None, description="Recorded at or after this time (RFC 3339, with offset)."
    )
    until: DateTimeParameter | None = Field(
        default=None, description="Recorded before this time (RFC 3339, with offset)."
    )
    limit: int = Field(default=DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
    cursor: str | None = Field(
        default=None,
        max_length=500,
        pattern=CURSOR_PATTERN,
        description="next_cursor from the previous page.",
    )


class ConnectionQuery(_Query):
    customer: str | None = Field(
        default=None, pattern=EXTERNAL_ID_PATTERN, description="The customer's external_id."
    )
    platform: str | None = Field(default=None, max_length=50)
    status: ConnectionStatus | None = None
    limit: int = Field(default=DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
    cursor: str | None = Field(
        default=None,
        max_length=500,
        pattern=CURSOR_PATTERN,
        description="next_cursor from the previous page.",
    )


# Responses


class Run(_Response):
    id: str = Field(description="The run's public id.")
    journey_id: str
    journey_version: str = Field(description="SHA-256 of the journey definition the run uses.")
    status: RunStatus
    current_step: str
    locale: str
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    abandoned_at: datetime | None


class Consent(_Response):
    id: str = Field(description="The consent record's public id.")
    customer_id: str
    external_id: str | None
    run_id: str | None
    journey_id: str
    journey_version: str
    item: str = Field(description="The consent item's key in the journey.")
    decision: Decision
    required: bool
    text: str = Field(description="The exact wording the customer saw.")
    text_sha256: str
    locale: str
    recorded_at: datetime
    expires_at: datetime | None = Field(
        description="When a grant stops counting unless reconfirmed; null: until withdrawn."
    )
    refers_to: str | None = Field(
        description="The record this one withdraws, reconfirms, expires or scopes."
    )
    collection_method: str = Field(description="How the decision was collected.")
    controllers: list[dict[str, Any]] = Field(description="The controllers named to the customer.")
    purpose: str
    data_categories: list[str]
    policy_url: str | None
    policy_version: str
    jurisdiction: str
    scope: dict[str, Any] | None = Field(
        description="The connections (platform, organisation, scopes) the grant covers."
    )
    sequence: int = Field(description="The record's place in the ledger's hash chain.")
    record_hash: str = Field(description="SHA-256 of the record chained to the one before.")


AuthorisedByRole = Literal["owner", "accountant", "bookkeeper", "other"]


class AuthorisedBy(_Response):
    role: AuthorisedByRole = Field(
        description="owner (the customer), or accountant, bookkeeper or other: someone the "
        "customer asked to connect for them. Their name is never sent."
    )


class Connection(_Response):
    id: str = Field(description="The connection's public id.")
    customer_id: str
    external_id: str | None
    run_id: str | None
    platform: str
    status: ConnectionStatus
    organisation_id: str | None
    organisation_name: str | None
    organisation_details: dict[str, str] = Field(
        description="What the platform's API needs beside the organisation id, e.g. "
        "FreshBooks' account_id, Business Central's environment, Xero's connection_id."
    )
    scopes: str | None
    provider_user_role: str | None = Field(
        default=None,
        description="The role in the organisation of the person who signed in at the "
        "platform, as the platform names it, where it reports one (e.g. the Sandbox's "
        "adviser, FreshBooks' owner); a role too weak fails the connection with "
        "role_too_weak.",
    )
    last_error: str | None = Field(description="A stable reason code when failed or ended.")
    created_at: datetime
    linked_at: datetime | None
    ended_at: datetime | None
    refresh_expires_at: datetime | None = Field(
        default=None,
        description="When the refresh token reaches its absolute expiry, where the platform "
        "says (e.g. Intuit's x_refresh_token_hard_expires_in, Sage's "
        "refresh_token_expires_in) or its catalogue entry knows (NetSuite: 7 days); the "
        "customer must approve access again by then. Null when nobody says.",
    )
    authorised_by: AuthorisedBy = Field(
        description="Who signed in at the platform: the customer (owner) or the person "
        "they asked through a delegated link."
    )


class Customer(_Response):
    id: str = Field(description="Onramp's public id for the customer.")
    external_id: str
    name: str
    email: str
    created_at: datetime
    runs: list[Run]
    consents: list[Consent]
    connections: list[Connection]


class RepairLinkRequest(_Request):
    """A repair link for a broken connection; every field is optional."""

    locale: str | None = Field(
        default=None,
        pattern=LOCALE_PATTERN,
        description="The language of the pages on the way (default: the customer's browser's).",
    )
    expires_in: int | None = Field(
        default=None,
        ge=MIN_LINK_SECONDS,
        description="Seconds until the link stops working (default and maximum: the "
        "instance's LINK_MAX_AGE_SECONDS).",
    )


LinkStatus = Literal[
    "sending", "sent", "bounced", "not_sent", "opened", "used", "revoked", "expired"
]


class Link(_Response):
    """A journey link Onramp keeps: emailed or not, followed, revocable."""

    id: str = Field(description="The link's id (GET, revoke and reissue it with this).")
    url: str | None = Field(
        description="The signed journey link to send to the customer. Only in the answer "
        "that made it (create, reissue): it is a credential and is not kept; null later."
    )
    journey_id: str
    expires_at: datetime
    created_at: datetime
    single_use: bool = Field(description="Works only in the first browser that opens it.")
    status: LinkStatus = Field(
        description="revoked; expired; used (a single-use link a browser opened, kept by "
        "it) or opened (first opened at opened_at); else the email's: sending (waiting in "
        "the outbox), sent (the mail server took it), bounced (the mail server refused "
        "the recipient) or not_sent (not emailed, or mail gave up)."
    )
    sent_to: str | None = Field(description="The address it was emailed to; null if not.")
    opened_at: datetime | None = Field(description="When it was first opened.")
    revoked_at: datetime | None
    replaced_by: str | None = Field(description="The id of the link that reissued this one.")


class RepairLink(_Response):
    url: str = Field(description="The signed repair link to send to the customer.")
    expires_at: datetime


class ConsentPage(_Response):
    data: list[Consent]
    next_cursor: str | None = Field(
        description="Pass as cursor for the next page; null at the end."
    )


class ConnectionPage(_Response):
    data: list[Connection]
    next_cursor: str | None = Field(
        description="Pass as cursor for the next page; null at the end."
    )


class Upload(_Response):
    id: str = Field(description="The uploaded file's public id.")
    customer_id: str
    external_id: str | None
    run_id: str = Field(description="The journey run it was uploaded on.")
    step: str = Field(description="The journey's upload step it was uploaded on.")
    filename: str = Field(description="The file's name as the customer's computer gave it.")
    kind: Literal["pdf", "csv", "xlsx"] = Field(
        description="The kind its content was checked to be."
    )
    content_type: str
    size: int = Field(description="Bytes.")
    sha256: str = Field(description="SHA-256 of the bytes, in hex.")
    covered_by: list[str] = Field(
        description="The consent items that must stay granted for the content to be handed out."
    )
    available: bool = Field(
        description="Whether the content can be downloaded now: false once a covering "
        "consent is withdrawn or expired, or the customer erased."
    )
    created_at: datetime


class UploadList(_Response):
    data: list[Upload]


class Credential(_Response):
    access_token: str
    token_type: str
    expires_at: datetime | None
    organisation_id: str | None
    organisation_details: dict[str, str] = Field(
        description="What the platform's API needs beside the organisation id "
        "(as on the connection)."
    )
    platform: str


class Journey(_Response):
    id: str
    name: str
    version: str
    locales: list[str]
    platforms: list[str] = Field(description="Platforms the journey offers, in its order.")
    allowed_origins: list[str] = Field(
        description="Origins whose pages may embed the journey in a frame "
        "(integration.allowed_origins)."
    )
    return_urls: list[str] = Field(
        description="Addresses a link's return_url may start with (integration.return_urls)."
    )


class JourneyList(_Response):
    data: list[Journey]


class WebhookEncryption(_Response):
    kid: str = Field(description="The key's RFC 7638 thumbprint, sent as the JWE header's kid.")
    key_type: str = Field(description="E.g. RSA 3072 bits, EC P-256, OKP X25519.")
    alg: str = Field(description="The JWE key management algorithm.")
    enc: str = Field(description="The JWE content encryption algorithm.")


class Certificate(_Response):
    subject: str
    issuer: str
    not_after: datetime
    fingerprint_sha256: str
    overlap_ends: datetime | None = Field(
        description="When a rotated-out client certificate stops being used; null: newest."
    )


class WebhookEndpointTLS(_Response):
    client_certificates: list[Certificate] = Field(description="Newest first; keys never shown.")
    pinned_ca: list[Certificate]


class WebhookEndpoint(_Response):
    id: str
    url: str
    description: str | None
    event_types: list[str] = Field(description="Event types sent there; empty means all.")
    status: Literal["enabled", "disabled"]
    disabled_reason: str | None
    created_at: datetime
    encryption: WebhookEncryption | None = Field(
        default=None,
        description="When set, every payload is a compact JWE (application/jose) to this key.",
    )
    tls: WebhookEndpointTLS  # mutual TLS


class WebhookEndpointCreated(WebhookEndpoint):
    secret: str = Field(description="The whsec_ signing secret: shown only in this response.")


class WebhookEndpointList(_Response):
    data: list[WebhookEndpoint]


class FieldProblem(BaseModel):
    field: str
    message: str


class ProblemDetails(BaseModel):
    """RFC 9457 problem details."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="A stable URI naming the kind of problem.")
    title: str
    status: int
    detail: str
    errors: Annotated[list[FieldProblem], Field(description="Each field at fault.")] | None = None


def dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")

"""What the API does, as plain functions the views call and tests can call directly.

Each write that changes something on the customer's behalf is written to the audit
trail in the same transaction as the change, naming the API key (its prefix).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app import audit
from app.api import schemas
from app.api.pagination import Page, paginate
from app.connections import lifecycle, repair, uploads
from app.connections.authorization import can_reconnect, reconnect_journey
from app.consent import ledger
from app.consent.export import within_range_ids
from app.customers import journey_links, manage
from app.engine.registry import current_journeys, get_journey
from app.engine.schema import Journey, PlatformSelectStep
from app.extensions import db
from app.models import (
    ApiKey,
    Connection,
    ConsentRecord,
    Customer,
    JourneyLink,
    JourneyRun,
    Upload,
)
from app.platforms import get_platform, unavailable_reason
from app.problems import FieldError, Problem

ACTOR = "api_key"


def _not_found(what: str, identifier: str) -> Problem:
    return Problem("not-found", f"No {what} has the id {identifier!r}.")


def _invalid(field: str, message: str) -> Problem:
    return Problem("validation-error", f"Check this field: {field}.", [FieldError(field, message)])


# Customers


def get_customer(external_id: str) -> Customer:
    customer = db.session.scalars(
        select(Customer).where(Customer.external_id == external_id)
    ).first()
    if customer is None:
        raise _not_found("customer", external_id)
    return customer


def put_customer(
    external_id: str, request: schemas.CustomerRequest, api_key: ApiKey, *, retry: bool = True
) -> tuple[Customer, bool]:
    """Create the customer with this external id, or update their name and email.

    Returns the customer and whether it was created.
    """
    name, email = request.name, str(request.email).strip().lower()
    customer = db.session.scalars(
        select(Customer).where(Customer.external_id == external_id)
    ).first()
    created = customer is None
    if customer is None:
        customer = Customer(name=name, email=email, external_id=external_id)
        db.session.add(customer)
        changed = ["name", "email"]
    else:
        changed = [f for f, v in (("name", name), ("email", email)) if getattr(customer, f) != v]
        customer.name, customer.email = name, email
    db.session.flush()
    if changed:
        # Which fields changed, not their values: the audit trail holds no personal data.
        audit.record(
            ACTOR,
            api_key.prefix,
            "customer.create" if created else "customer.update",
            "customer",
            customer.public_id,
            after={"changed": changed},
        )
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        if not retry:
            raise
        # Another request created the same external id a moment ago: update that one.
        return put_customer(external_id, request, api_key, retry=False)
    return customer, created


def present_customer(customer: Customer) -> schemas.Customer:
    runs = db.session.scalars(
        select(JourneyRun).where(JourneyRun.customer_id == customer.id).order_by(JourneyRun.id)
    )
    consents = db.session.scalars(
        select(ConsentRecord)
        .where(ConsentRecord.customer_id == customer.id)
        .order_by(ConsentRecord.id)
    )
    connections = db.session.scalars(
        select(Connection).where(Connection.customer_id == customer.id).order_by(Connection.id)
    )
    return schemas.Customer(
        id=customer.public_id,
        external_id=customer.external_id or "",
        name=customer.name,
        email=customer.email,
        created_at=customer.created_at,
        runs=[present_run(run) for run in runs],
        consents=present_consents(list(consents)),
        connections=present_connections(list(connections)),
    )


def present_run(run: JourneyRun) -> schemas.Run:
    return schemas.Run(
        id=run.public_id,
        journey_id=run.journey_id,
        journey_version=run.journey_version,
        status=run.status,  # type: ignore[arg-type]
        current_step=run.current_step,
        locale=run.locale,
        created_at=run.created_at,
        updated_at=run.updated_at,
        completed_at=run.completed_at,
        abandoned_at=run.abandoned_at,
    )


def _public_ids(
    customer_ids: Iterable[int], run_ids: Iterable[int | None]
) -> tuple[dict[int, Customer], dict[int, str]]:
    customers = {
        c.id: c
        for c in db.session.scalars(select(Customer).where(Customer.id.in_(set(customer_ids))))
    }
    wanted = {r for r in run_ids if r is not None}
    rows = db.session.execute(
        select(JourneyRun.id, JourneyRun.public_id).where(JourneyRun.id.in_(wanted))
    )
    runs = {run_id: public_id for run_id, public_id in rows}
    return customers, runs


def present_consents(records: list[ConsentRecord]) -> list[schemas.Consent]:
    customers, runs = _public_ids((r.customer_id for r in records), (r.run_id for r in records))
    return [
        schemas.Consent(
            id=r.public_id,
            customer_id=customers[r.customer_id].public_id,
            external_id=customers[r.customer_id].external_id,
            run_id=runs.get(r.run_id),
            journey_id=r.journey_id,
            journey_version=r.journey_version,
            item=r.item_key,
            decision=r.decision,  # type: ignore[arg-type]
            required=r.required,
            text=r.text,
            text_sha256=r.text_sha256,
            locale=r.locale,
            recorded_at=r.recorded_at,
            expires_at=r.expires_at,
            refers_to=r.refers_to,
            collection_method=r.collection_method,
            controllers=r.controllers,
            purpose=r.purpose,
            data_categories=r.data_categories,
            policy_url=r.policy_url,
            policy_version=r.policy_version,
            jurisdiction=r.jurisdiction,
            scope=ledger.readable_scope(r, customers[r.customer_id]),
            sequence=r.sequence,
            record_hash=r.record_hash,
        )
        for r in records
    ]


def present_connections(connections: list[Connection]) -> list[schemas.Connection]:
    customers, runs = _public_ids(
        (c.customer_id for c in connections), (c.run_id for c in connections)
    )
    return [
        schemas.Connection(
            id=c.public_id,
            customer_id=customers[c.customer_id].public_id,
            external_id=customers[c.customer_id].external_id,
            run_id=runs.get(c.run_id) if c.run_id is not None else None,
            platform=c.platform,
            status=c.status,  # type: ignore[arg-type]
            organisation_id=c.org_id,
            organisation_name=c.org_name,
            organisation_details=c.org_details or {},
            scopes=c.scopes,
            provider_user_role=c.provider_user_role,
            last_error=c.last_error,
            created_at=c.created_at,
            linked_at=c.linked_at,
            ended_at=c.ended_at,
            refresh_expires_at=c.refresh_expires_at,
            authorised_by=schemas.AuthorisedBy(
                role=c.authorised_by_role or "owner"  # type: ignore[arg-type]
            ),
        )
        for c in connections
    ]


# Links


def offered_platforms(journey: Journey) -> list[str]:
    offered: list[str] = []
    for step in journey.steps:
        if isinstance(step, PlatformSelectStep):
            offered += [p for p in step.platforms if p not in offered]
    return offered


def _reconnected(customer: Customer, request: schemas.LinkRequest) -> Connection | None:
    """The connection a link request asks to re-authorize, checked; None when it asks none."""
    if request.reconnect is None:
        return None
    connection = db.session.scalars(
        select(Connection).where(
            Connection.public_id == request.reconnect, Connection.customer_id == customer.id
        )
    ).first()
    if connection is None:
        raise _invalid("reconnect", "no connection with this id for this customer")
    if not can_reconnect(connection):
        raise _invalid(
            "reconnect", "this connection never linked an organisation: send a new link instead"
        )
    if request.platform is not None and request.platform != connection.platform:
        raise _invalid(
            "platform",
            f"a reconnect link uses the connection's own platform, {connection.platform}",
        )
    return connection


def create_link(customer: Customer, request: schemas.LinkRequest, api_key: ApiKey) -> schemas.Link:
    """A signed journey link for ``customer``, after checking every choice it carries;
    kept as a record (not the link), audited, and emailed with ``send_email``."""
    config = current_app.config
    reconnects = _reconnected(customer, request)
    journey_id = request.journey_id
    if journey_id is None:
        journey_id = reconnect_journey(reconnects) if reconnects else None
    journey_id = journey_id or config["DEFAULT_JOURNEY"]
    journey = get_journey(journey_id)
    if journey is None:
        known = ", ".join(sorted(current_journeys()))
        raise _invalid("journey_id", f"no journey {journey_id!r} (journeys: {known})")
    if request.locale is not None and request.locale not in journey.locales:
        locales = ", ".join(journey.locales)
        raise _invalid("locale", f"journey {journey.id!r} is offered in {locales}")
    if request.platform is not None:
        platform = get_platform(request.platform)
        offered = offered_platforms(journey)
        if platform is None or request.platform not in offered:
            listed = ", ".join(offered) or "none"
            raise _invalid("platform", f"journey {journey.id!r} offers these platforms: {listed}")
        reason = unavailable_reason(platform)
        if reason is not None:
            raise _invalid("platform", f"{platform.name} cannot be connected here: {reason}")
    if request.return_url is not None and not journey.integration.allows_return_to(
        request.return_url
    ):
        raise _invalid("return_url", f"not one of journey {journey.id!r}'s integration.return_urls")
    max_age = int(config["LINK_MAX_AGE_SECONDS"])
    expires_in = request.expires_in if request.expires_in is not None else max_age
    if expires_in > max_age:
        raise _invalid("expires_in", f"must be at most {max_age} seconds")
    options = journey_links.Options(
        journey_id=journey.id,
        expires_at=journey_links.default_expiry(expires_in),
        reconnects=reconnects,
        locale=request.locale,
        platform=request.platform,
        return_url=request.return_url,
        single_use=request.single_use,
    )
    try:
        made = journey_links.create(
            customer, options, actor_type=ACTOR, actor_id=api_key.prefix, send=request.send_email
        )
    except journey_links.NotSendable as exc:
        raise _not_sendable(exc) from exc
    return present_link(made.link, made.url)


def _not_sendable(exc: journey_links.NotSendable) -> Problem:
    if exc.reason == "mail_not_configured":
        return Problem(
            "conflict",
            "Mail is not configured on this instance, so the link cannot be emailed: ask for "
            "it without send_email and send it yourself.",
        )
    return Problem("conflict", "This customer has no address the link can be emailed to.")


def get_link(public_id: str) -> JourneyLink:
    link = journey_links.by_public_id(public_id)
    if link is None:
        raise _not_found("link", public_id)
    return link


def present_link(link: JourneyLink, url: str | None = None) -> schemas.Link:
    return schemas.Link(
        id=link.public_id,
        url=url,
        journey_id=link.journey_id,
        expires_at=link.expires_at,
        created_at=link.created_at,
        single_use=link.single_use,
        status=journey_links.state(link).replace(" ", "_"),  # type: ignore[arg-type]
        sent_to=link.sent_to,
        opened_at=link.opened_at,
        revoked_at=link.revoked_at,
        replaced_by=link.replaced_by,
    )


def revoke_link(link: JourneyLink, api_key: ApiKey) -> schemas.Link:
    """Stop the link at once; a revoked link stays as it is (idempotent)."""
    journey_links.revoke(link, actor_type=ACTOR, actor_id=api_key.prefix)
    return present_link(link)


def reissue_link(link: JourneyLink, api_key: ApiKey) -> schemas.Link:
    """Revoke the link and make its like again; 409 when it was reissued already or its
    email cannot be sent again."""
    try:
        made = journey_links.reissue(link, actor_type=ACTOR, actor_id=api_key.prefix)
    except journey_links.AlreadyReplaced as exc:
        raise Problem(
            "conflict", f"This link was reissued already, as {exc.newer}: reissue that one."
        ) from exc
    except journey_links.NotSendable as exc:
        raise _not_sendable(exc) from exc
    return present_link(made.link, made.url)


def create_repair_link(
    connection: Connection, request: schemas.RepairLinkRequest
) -> schemas.RepairLink:
    """A one-click link that re-authorizes ``connection`` in place (same organisation, same
    id); 409 when it needs no repair (linked and healthy) or cannot have one."""
    if repair.needs_repair(connection) is None:
        raise Problem(
            "conflict",
            f"The connection is {connection.status} and needs no repair.",
        )
    if request.expires_in is not None and request.expires_in > int(
        current_app.config["LINK_MAX_AGE_SECONDS"]
    ):
        raise _invalid(
            "expires_in", f"must be at most {current_app.config['LINK_MAX_AGE_SECONDS']} seconds"
        )
    try:
        link = repair.repair_link(connection, request.locale, request.expires_in)
    except repair.NotRepairable as exc:
        raise Problem(
            "conflict", f"This connection cannot be repaired by its customer ({exc.reason})."
        ) from exc
    return schemas.RepairLink(url=link.url, expires_at=link.expires_at)


# Consents and connections


def consent_page(query: schemas.ConsentQuery) -> Page:
    statement = select(ConsentRecord)
    if query.customer is not None:
        statement = statement.join(Customer, Customer.id == ConsentRecord.customer_id).where(
            Customer.external_id == query.customer
        )
    if query.journey_id is not None:
        statement = statement.where(ConsentRecord.journey_id == query.journey_id)
    if query.item is not None:
        statement = statement.where(ConsentRecord.item_key == query.item)
    if query.decision is not None:
        statement = statement.where(ConsentRecord.decision == query.decision)
    if query.since is not None:
        statement = statement.where(ConsentRecord.recorded_at >= query.since)
    if query.until is not None:
        statement = statement.where(ConsentRecord.recorded_at < query.until)
    if query.since is not None or query.until is not None:
        statement = within_range_ids(statement)
    return paginate("consents", statement, ConsentRecord.id, query.limit, query.cursor)


def connection_page(query: schemas.ConnectionQuery) -> Page:
    statement = select(Connection)
    if query.customer is not None:
        statement = statement.join(Customer, Customer.id == Connection.customer_id).where(
            Customer.external_id == query.customer
        )
    if query.platform is not None:
        statement = statement.where(Connection.platform == query.platform)
    if query.status is not None:
        statement = statement.where(Connection.status == query.status)
    return paginate("connections", statement, Connection.id, query.limit, query.cursor)


def get_consent(public_id: str) -> ConsentRecord:
    record = db.session.scalars(
        select(ConsentRecord).where(ConsentRecord.public_id == public_id)
    ).first()
    if record is None:
        raise _not_found("consent record", public_id)
    return record


def get_connection(public_id: str) -> Connection:
    connection = db.session.scalars(
        select(Connection).where(Connection.public_id == public_id)
    ).first()
    if connection is None:
        raise _not_found("connection", public_id)
    return connection


def get_upload(public_id: str) -> Upload:
    upload = uploads.find(public_id)
    if upload is None:
        raise _not_found("upload", public_id)
    return upload


def customer_uploads(customer: Customer) -> list[Upload]:
    return uploads.customer_uploads(customer)


def present_uploads(found: list[Upload]) -> list[schemas.Upload]:
    customer_ids = {u.customer_id for u in found}
    run_ids = {u.run_id for u in found}
    customers = {
        c.id: c for c in db.session.scalars(select(Customer).where(Customer.id.in_(customer_ids)))
    }
    runs = {
        r.id: r for r in db.session.scalars(select(JourneyRun).where(JourneyRun.id.in_(run_ids)))
    }
    presented = []
    for upload in found:
        customer = customers[upload.customer_id]
        presented.append(
            schemas.Upload(
                id=upload.public_id,
                customer_id=customer.public_id,
                external_id=customer.external_id,
                run_id=runs[upload.run_id].public_id,
                step=upload.step,
                filename=upload.filename,
                kind=upload.kind,  # type: ignore[arg-type]
                content_type=upload.content_type,
                size=upload.size,
                sha256=upload.sha256,
                covered_by=list(upload.covered_by),
                available=customer.erased_at is None and uploads.still_covered(upload),
                created_at=upload.created_at,
            )
        )
    return presented


def upload_content(upload: Upload) -> bytes:
    """The file's bytes; a 409 problem when its consent was withdrawn or expired."""
    try:
        return uploads.content(upload)
    except uploads.UploadUnavailable as exc:
        if exc.reason == "erased":
            raise Problem("conflict", "The customer was erased: the file is gone.") from exc
        raise Problem(
            "conflict",
            "The consent covering this file was withdrawn or has expired: it can't be "
            "handed out. Ask the customer to agree again.",
        ) from exc


def withdraw_consent(record: ConsentRecord, api_key: ApiKey) -> ConsentRecord:
    """Withdraw the consent item ``record`` belongs to, on the customer's behalf.

    A required item's withdrawal also disconnects the connections that depended on it.
    """
    actor = ledger.Actor(ACTOR, api_key.prefix, ledger.BY_API)
    outcome = manage.withdraw(record, actor=actor)  # audited and committed
    if outcome is None:
        raise Problem(
            "conflict",
            f"Consent item {record.item_key!r} is not granted at the moment: "
            "there is nothing to withdraw.",
        )
    return outcome.record


def disconnect_connection(connection: Connection, api_key: ApiKey) -> Connection:
    """Revoke at the platform and forget the tokens; disconnecting again changes nothing."""
    if connection.status == "disconnected":
        return connection
    lifecycle.disconnect_audited(connection, ACTOR, api_key.prefix)
    return connection


def journeys() -> list[schemas.Journey]:
    return [
        schemas.Journey(
            id=journey.id,
            name=journey.name,
            version=journey.version,
            locales=list(journey.locales),
            platforms=offered_platforms(journey),
            allowed_origins=list(journey.integration.allowed_origins),
            return_urls=[str(url) for url in journey.integration.return_urls],
        )
        for journey in sorted(current_journeys().values(), key=lambda j: j.id)
    ]


def credentials_lead() -> timedelta:
    return timedelta(seconds=int(current_app.config["API_CREDENTIALS_REFRESH_LEAD_SECONDS"]))

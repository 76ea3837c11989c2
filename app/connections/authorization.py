"""Connection lifecycle: start an authorization, finish it from the provider's redirect.

Statuses: pending → linked, or failed with a stable reason. A linked connection is
never downgraded by a stray or replayed callback: nothing recorded is lost.

Each sign-in is an attempt row of its own while it is at work. When it brings back an
organisation the customer has connected already (a repair link's connection, or the same
platform and organisation linked or deauthorized), that connection is re-linked in place
and keeps its id; the attempt row, which nothing was ever told about, is removed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from authlib.common.security import generate_token
from flask import current_app
from sqlalchemy import or_, select, update

from app import audit, clock
from app.connections import delegation as delegations
from app.connections import flows
from app.connections.lifecycle import refresh_expiry
from app.connections.oauth import (
    Organisation,
    ProviderConfig,
    ProviderError,
    authorization_url,
    discover_organisations,
    exchange_code,
    provider_config,
    redirect_uri,
    revoke_tokens,
)
from app.consent import ledger
from app.consent.personal import encrypt_for
from app.engine import steps
from app.engine.registry import get_journey
from app.engine.schema import Journey, Step
from app.engine.versions import journey_for_run
from app.extensions import db
from app.models import Connection, Customer, JourneyRun, OAuthFlow
from app.vault import decrypt_json, encrypt_json
from app.webhooks.outbox import connection_ids, emit


class PlatformUnavailable(Exception):
    """The platform has no OAuth client configured on this instance."""


@dataclass(frozen=True)
class CallbackResult:
    """What a provider's redirect did: which run it belongs to and how it ended."""

    run_id: int | None
    connection: Connection | None
    reason: str | None = None
    # The platform returned several organisations: the customer picks one next.
    choosing: bool = False
    # The journey's step to show next, where this outcome moved the journey on.
    next_step: Step | None = None

    @property
    def moves_journey(self) -> bool:
        """A sign-in that ended (linked or failed) moves the journey on; a choice still to
        make, an address used already or a first request still at work does not."""
        return not self.choosing and self.reason not in (ALREADY_USED, STILL_CONNECTING)

    @property
    def linked(self) -> bool:
        return (
            self.reason is None
            and self.connection is not None
            and self.connection.status == "linked"
        )


# A callback used again while its first use is still being finished.
STILL_CONNECTING = "still_connecting"
# The journey a reconnect link uses unless told otherwise (see reconnect_journey).
RECONNECT_JOURNEY = "reconnect"


def can_reconnect(connection: Connection) -> bool:
    """Whether a link may re-authorize ``connection``: a reconnect brings back the same
    organisation, so one must have been linked before."""
    return connection.org_id is not None and connection.status != "pending"


def reconnect_journey(connection: Connection) -> str | None:
    """The journey a reconnect link uses by default: ``reconnect``, else the original one."""
    if get_journey(RECONNECT_JOURNEY) is not None:
        return RECONNECT_JOURNEY
    run = connection.run
    return run.journey_id if run is not None and get_journey(run.journey_id) else None


@dataclass(frozen=True)
class Authorization:
    """A sign-in started at a provider: where to send the customer, and its OAuth state.

    The face that sends the customer there remembers the state in that browser's session:
    only that browser may finish the sign-in (see ``finish_callback``).
    """

    url: str
    state: str


def begin_connection(
    run: JourneyRun,
    platform: str,
    expected_org_id: str | None = None,
    *,
    authorised_by: tuple[str, str | None] = ("owner", None),
) -> Authorization:
    """Open a pending connection and start its authorization at the provider.

    ``expected_org_id`` (a reconnect) is the only organisation the flow may link.
    ``authorised_by``: the role and name of who signs in at the platform (the customer,
    ``owner``, or someone they asked through a delegated link).
    """
    provider = provider_config(platform)
    if provider is None:
        raise PlatformUnavailable(platform)
    # After a role too weak, the customer tries again as someone else: the platform asks
    # for a login rather than carrying on with the one it remembers.
    latest = latest_connection(run)
    login_again = latest is not None and latest.last_error == ROLE_TOO_WEAK
    for earlier in pending_connections(run):
        _mark_failed(earlier, "abandoned", "the customer started another attempt")
    role, name = authorised_by
    connection = Connection(
        customer_id=run.customer_id,
        run_id=run.id,
        platform=platform,
        authorised_by_role=role,
        authorised_by_name_ciphertext=encrypt_for(run.customer, name) if name else None,
    )
    db.session.add(connection)
    db.session.flush()
    state = generate_token(43)
    verifier = generate_token(64)
    callback = redirect_uri(platform)
    flows.save_flow(
        flows.PendingFlow(
            state=state,
            connection_id=connection.id,
            run_id=run.id,
            platform=platform,
            issuer=provider.issuer,
            redirect_uri=callback,
            code_verifier=verifier,
            expires_at=clock.now()
            + timedelta(seconds=current_app.config["OAUTH_FLOW_TTL_SECONDS"]),
            expected_org_id=expected_org_id,
        )
    )
    db.session.commit()
    url = authorization_url(provider, callback, state, verifier, login_again=login_again)
    return Authorization(url, state)


def pending_connections(run: JourneyRun) -> list[Connection]:
    return list(
        db.session.scalars(
            select(Connection).where(Connection.run_id == run.id, Connection.status == "pending")
        )
    )


def latest_connection(run: JourneyRun) -> Connection | None:
    return db.session.scalars(
        select(Connection)
        .where(Connection.run_id == run.id)
        .order_by(Connection.id.desc())
        .limit(1)
    ).first()


def finish_callback(
    platform: str,
    params: Mapping[str, str],
    held_run_id: int | None,
    session_run_id: int | None,
) -> CallbackResult:
    """The provider's redirect, as one change committed once: the attempt's outcome and,
    where it decides one, the journey's next step (``CallbackResult.next_step``).

    ``held_run_id``: the run whose sign-in this browser's session holds for this state (the
    face has checked it), or None for a browser that did not start it, which changes
    nothing of anyone else's (``session_run_id`` is that browser's own run, if any).
    """
    if held_run_id is not None:
        result = _handle_callback(platform, params, held_run_id)
    else:
        result = _unmatched_callback(platform, params, session_run_id)
    run = db.session.get(JourneyRun, result.run_id) if result.run_id is not None else None
    journey = journey_for_run(run) if run is not None else None
    if run is not None and journey is not None and result.moves_journey:
        linked = result.connection if result.linked else None
        if linked is not None:
            delegations.not_needed(run, linked)
        # The journey's move commits the attempt's outcome with it.
        following = steps.connection_finished(run, journey, linked, result.reason)
        return replace(result, next_step=following)
    db.session.commit()
    return result


def _handle_callback(platform: str, params: Mapping[str, str], held_run_id: int) -> CallbackResult:
    """Finish an authorization from the provider's redirect (RFC 6749 §4.1.2, RFC 9207).

    Only for the browser that started it; the caller commits.
    """
    state = params.get("state") or ""
    taken = flows.take_flow(state)
    if taken.flow is None:
        return _fail_pending(held_run_id, platform, "state_mismatch", "state matches no request")
    flow = taken.flow
    connection = db.session.get(Connection, flow.connection_id)
    if flow.run_id != held_run_id or connection is None:
        return CallbackResult(None, None, "session_mismatch")

    if taken.outcome is flows.Outcome.USED:
        if connection.status == "linked":
            return CallbackResult(flow.run_id, connection)
        if connection.status == "pending":
            # The first use is still at work (a slow platform, and a customer who
            # refreshed): it must not be failed under it, unless it has been at work for
            # longer than any provider call may take (the database or the process failed).
            if fail_if_stuck(connection):
                return CallbackResult(flow.run_id, connection, connection.last_error)
            if connection.candidates:
                return CallbackResult(flow.run_id, connection, choosing=True)
            return CallbackResult(flow.run_id, connection, STILL_CONNECTING)
        return _fail(flow.run_id, connection, "replayed_callback", "this callback was already used")
    if taken.outcome is flows.Outcome.EXPIRED:
        return _fail(
            flow.run_id, connection, "expired", "the customer took too long at the provider"
        )
    if flow.platform != platform:
        return _fail(flow.run_id, connection, "platform_mismatch", f"callback for {platform!r}")
    provider = provider_config(platform)
    if provider is None:
        return _fail(flow.run_id, connection, "platform_unavailable", "no client configured")
    issuer = params.get("iss")
    # RFC 9207: a platform that names itself must be the one asked (mix-up defence), and a
    # platform that says it always does (its metadata's
    # authorization_response_iss_parameter_supported) must not be answered without it.
    if issuer is None and provider.requires_iss:
        return _fail(flow.run_id, connection, "issuer_mismatch", "callback without iss")
    if issuer is not None and flow.issuer and issuer != flow.issuer:
        return _fail(
            flow.run_id, connection, "issuer_mismatch", "iss differs from the provider asked"
        )
    error = params.get("error")
    if error:
        reason = "access_denied" if error == "access_denied" else "provider_error"
        return _fail(flow.run_id, connection, reason, f"provider said {_safe_code(error)}")
    code = params.get("code")
    if not code:
        return _fail(flow.run_id, connection, "code_missing", "callback without code or error")
    # Durable before the provider is called: if this process or the database fails during
    # the exchange, the attempt is known to be stuck rather than pending forever.
    connection.claimed_at = clock.now()
    db.session.commit()
    try:
        token = exchange_code(provider, flow.redirect_uri, code, flow.code_verifier)
        organisations = discover_organisations(provider, token, params)
    except ProviderError as exc:
        connection.last_provider_request_id = provider.last_request_id
        return _fail(flow.run_id, connection, exc.reason, exc.detail)
    connection.last_provider_request_id = provider.last_request_id
    if flow.expected_org_id is not None:
        matching = [org for org in organisations if org.id == flow.expected_org_id]
        if not matching:
            # Never swap companies silently: refuse, hand the access back, say which came.
            with suppress(ProviderError):
                revoke_tokens(provider, token)
            connection.org_id = organisations[0].id[:200]
            connection.org_name = organisations[0].name[:300]
            return _fail(
                flow.run_id,
                connection,
                "different_organisation",
                "not the organisation to reconnect",
            )
        organisations = matching
    if len(organisations) > 1:
        connection.candidates = [
            {
                "id": org.id,
                "name": org.name,
                "details": org.details,
                "role": org.role,
                "user": org.user,
            }
            for org in organisations
        ]
        connection.token_ciphertext = encrypt_json(token)  # kept encrypted until one is chosen
        return CallbackResult(flow.run_id, connection, choosing=True)
    if too_weak(provider, organisations[0]):
        return _refuse_role(flow.run_id, connection, provider, organisations[0], token)
    return CallbackResult(flow.run_id, _link(connection, organisations[0], token))


# The platform reported the signed-in user's role, and it cannot give the access asked for.
ROLE_TOO_WEAK = "role_too_weak"


def too_weak(provider: ProviderConfig, organisation: Organisation) -> bool:
    """Whether the platform reported a role for the signed-in user in ``organisation`` that
    the catalogue says cannot give the access Onramp asks for."""
    return provider.roles is not None and provider.roles.refuses(organisation.role)


def _refuse_role(
    run_id: int | None,
    connection: Connection,
    provider: ProviderConfig,
    organisation: Organisation,
    token: dict[str, Any],
) -> CallbackResult:
    """Fail the attempt as ``role_too_weak``: nothing is linked, the access the platform
    gave is handed back, and the connection keeps who signed in with which role, so the
    customer can be told whom to ask instead."""
    with suppress(ProviderError):
        revoke_tokens(provider, token)
    connection.org_id = organisation.id[:200]
    connection.org_name = organisation.name[:300]
    connection.provider_user = organisation.user
    connection.provider_user_role = organisation.role
    return _fail(
        run_id,
        connection,
        ROLE_TOO_WEAK,
        f"the signed-in user's role {organisation.role!r} cannot give the access asked for",
    )


# A callback address this browser opened again after using it (a reload, the back button).
ALREADY_USED = "already_used"


def _unmatched_callback(
    platform: str, params: Mapping[str, str], session_run_id: int | None
) -> CallbackResult:
    """A provider's redirect opened in a browser that did not start that authorization.

    It changes nothing and claims nothing, so the customer who did start it can still
    finish. Only the browser's own run is touched: a redirect naming no request fails
    that run's pending attempt (the sign-in came back broken); one naming a request of
    that same run (an address it used already) just shows where the run stands.
    """
    state = params.get("state")
    if not state:
        return _fail_pending(session_run_id, platform, "state_missing", "callback without state")
    run_id = flows.run_of(state)
    if run_id is None:
        return _fail_pending(session_run_id, platform, "state_mismatch", "state matches no request")
    if session_run_id is not None and run_id == session_run_id:
        return CallbackResult(run_id, None, ALREADY_USED)
    return CallbackResult(None, None, "session_mismatch")


def fail_if_stuck(connection: Connection) -> bool:
    """Fail a pending attempt that can no longer finish; True if it was (or is) failed.

    Stuck: its callback claimed it longer ago than any provider call may take
    (``CONNECTION_FINISH_SECONDS``), or nobody came back before its authorization expired
    and that time has passed too.
    """
    if connection.status != "pending":
        return connection.status == "failed"
    bound = timedelta(seconds=current_app.config["CONNECTION_FINISH_SECONDS"])
    now = clock.now()
    if connection.claimed_at is not None:
        if connection.claimed_at + bound > now:
            return False
        reason, detail = "interrupted", "the connection was not finished in time"
    else:
        lifetime = timedelta(seconds=current_app.config["OAUTH_FLOW_TTL_SECONDS"])
        if connection.created_at + lifetime + bound > now:
            return False
        reason, detail = "abandoned", "the customer did not come back from the provider"
    _fail(connection.run_id, connection, reason, detail)
    db.session.commit()
    return True


def fail_stuck_connections() -> int:
    """Fail every pending attempt that can no longer finish; returns how many.

    Safe from several processes at once: a connection fails only while still pending.
    """
    bound = timedelta(seconds=current_app.config["CONNECTION_FINISH_SECONDS"])
    lifetime = timedelta(seconds=current_app.config["OAUTH_FLOW_TTL_SECONDS"])
    candidates = db.session.scalars(
        select(Connection).where(
            Connection.status == "pending",
            or_(
                Connection.claimed_at < clock.now() - bound,
                Connection.created_at < clock.now() - lifetime - bound,
            ),
        )
    ).all()
    return sum(fail_if_stuck(connection) for connection in candidates)


def choose_organisation(
    run: JourneyRun, journey: Journey, connection: Connection, org_id: str
) -> Step | None:
    """Link the organisation the customer picked among those the platform returned and
    move the journey on, committed once; the step to show next (the connect step, saying
    why, when the customer's role there is too weak), or None if nothing was chosen."""
    candidates = connection.candidates or []
    chosen = next((c for c in candidates if c.get("id") == org_id), None)
    if connection.status != "pending" or chosen is None or not connection.token_ciphertext:
        return None
    chosen_one = Organisation(
        chosen["id"],
        chosen["name"],
        dict(chosen.get("details") or {}),
        role=chosen.get("role"),
        user=chosen.get("user"),
    )
    token = decrypt_json(connection.token_ciphertext)
    provider = provider_config(connection.platform)
    if provider is not None and too_weak(provider, chosen_one):
        refused = _refuse_role(connection.run_id, connection, provider, chosen_one, token)
        # Back to the connect step, which says why; the journey's move commits the refusal.
        return steps.connection_finished(run, journey, None, refused.reason)
    linked = _link(connection, chosen_one, token)
    delegations.not_needed(run, linked)
    # The journey's move commits the link with it.
    return steps.connection_finished(run, journey, linked, None)


def _safe_code(value: str) -> str:
    # Provider error codes are ASCII words (RFC 6749 §4.1.2.1): keep anything else out.
    return re.sub(r"[^A-Za-z0-9_.-]", "", value)[:60] or "an unknown error"


def run_connections(run: JourneyRun) -> list[Connection]:
    """The connections a run shows as its own: those it made, and the one it repaired in
    place. A repair keeps its connection with the run whose consent covers it, yet the
    customer who just reconnected must see it connected, and the business's return link
    must name it."""
    found = list(run.connections)
    own = {c.public_id for c in found}
    named = {str((steps.reconnecting(run) or {}).get("connection") or ""), *steps.reauthorized(run)}
    others = named - own - {""}
    if not others:
        return found
    repaired = db.session.scalars(
        select(Connection)
        .where(
            Connection.public_id.in_(others),
            Connection.customer_id == run.customer_id,
            Connection.status == "linked",
            Connection.repaired_at >= run.created_at,
        )
        .order_by(Connection.id)
    ).all()
    return [*found, *repaired]


# Statuses of a connection that a new sign-in to its organisation re-authorizes in place.
REAUTHORIZABLE = ("linked", "deauthorized")


def connection_to_reauthorize(attempt: Connection, org_id: str) -> Connection | None:
    """The customer's existing connection that ``attempt``, which brought back ``org_id``,
    re-authorizes: the connection a repair link names, else one to the same platform and
    organisation that is linked or deauthorized. None: the attempt is a new connection."""
    org_id = org_id[:200]
    run = db.session.get(JourneyRun, attempt.run_id) if attempt.run_id is not None else None
    named = (steps.reconnecting(run) or {}).get("connection") if run is not None else None
    if named:
        repaired = db.session.scalars(
            select(Connection).where(
                Connection.public_id == named, Connection.customer_id == attempt.customer_id
            )
        ).first()
        if (
            repaired is not None
            and repaired.id != attempt.id
            and repaired.platform == attempt.platform
            and repaired.org_id == org_id
            and repaired.status != "pending"
        ):
            return repaired
    return db.session.scalars(
        select(Connection)
        .where(
            Connection.customer_id == attempt.customer_id,
            Connection.platform == attempt.platform,
            Connection.org_id == org_id,
            Connection.status.in_(REAUTHORIZABLE),
            Connection.id != attempt.id,
        )
        .order_by(Connection.id)
        .limit(1)
    ).first()


def _link(attempt: Connection, organisation: Organisation, token: dict[str, Any]) -> Connection:
    """Link what ``attempt`` brought back; returns the connection that is now linked.

    An organisation the customer has connected already is re-linked in place: that
    connection keeps its id, and the attempt row goes. Deleting it, rather than failing
    it, keeps the events honest: it was never announced (an attempt emits nothing until it
    ends), so no ``connection.failed`` is sent for a sign-in that succeeded, and the
    business, the ledger and the customer's page see one connection. Its OAuth requests
    now name the kept connection, so a replayed callback finds it linked.
    """
    kept = connection_to_reauthorize(attempt, organisation.id)
    if kept is None:
        _mark_linked(attempt, organisation, token)
        return attempt
    db.session.execute(
        update(OAuthFlow)
        .where(OAuthFlow.connection_id == attempt.id)
        .values(connection_id=kept.id)
        .execution_options(synchronize_session=False)
    )
    # The run whose consents now cover the connection: the attempt's, if it recorded any
    # (a new journey), else the connection's own (a repair asks no consent again).
    if attempt.run_id is not None and any(
        ledger.is_active(record) for record in ledger.latest_decisions(attempt.run_id).values()
    ):
        kept.run_id = attempt.run_id
    elif attempt.run_id is not None and kept.run_id != attempt.run_id:
        # Shown as this run's all the same: the customer just connected it here.
        attempt_run = db.session.get(JourneyRun, attempt.run_id)
        if attempt_run is not None:
            steps.note_reauthorized(attempt_run, kept.public_id)
    # Whoever signed in this time authorised it.
    kept.authorised_by_role = attempt.authorised_by_role
    kept.authorised_by_name_ciphertext = attempt.authorised_by_name_ciphertext
    db.session.delete(attempt)
    db.session.flush()
    before = {"status": kept.status, "last_error": kept.last_error}
    kept.token_version += 1
    kept.refresh_claimed_until = None
    kept.ended_at = None
    kept.repaired_at = clock.now()
    kept.repair_reminders_sent = 0
    kept.repair_reminded_at = None
    _mark_linked(kept, organisation, token, repaired=True)
    audit.record(
        "customer",
        _customer_public_id(kept),
        "connection.repaired",
        "connection",
        kept.public_id,
        before,
        {"status": "linked", "outcome": "repaired"},
    )
    return kept


def _customer_public_id(connection: Connection) -> str:
    customer = db.session.get(Customer, connection.customer_id)
    return customer.public_id if customer is not None else str(connection.customer_id)


def _mark_linked(
    connection: Connection,
    organisation: Organisation,
    token: dict[str, Any],
    *,
    repaired: bool = False,
) -> None:
    connection.status = "linked"
    connection.org_id = organisation.id[:200]
    connection.org_name = organisation.name[:300]
    connection.org_details = {k[:50]: v[:500] for k, v in organisation.details.items()} or None
    connection.scopes = str(token.get("scope") or "")[:1000] or None
    connection.token_ciphertext = encrypt_json(token)
    expires_in = token.get("expires_in")
    connection.token_expires_at = (
        clock.now() + timedelta(seconds=int(expires_in))
        if isinstance(expires_in, int | float)
        else None
    )
    connection.refresh_expires_at = refresh_expiry(token, connection.platform)
    connection.provider_user = organisation.user
    connection.provider_user_role = organisation.role
    connection.last_error = None
    connection.last_error_detail = None
    connection.linked_at = clock.now()
    connection.candidates = None
    extra = {"repaired": True} if repaired else {}
    emit("connection.linked", connection.customer_id, **connection_ids(connection), **extra)
    # The ledger notes what the customer's grants now cover: platform, organisation, scopes.
    ledger.record_scope(connection)


def _mark_failed(connection: Connection, reason: str, detail: str) -> None:
    connection.status = "failed"
    # A failed attempt keeps no access to anything.
    connection.token_ciphertext = None
    connection.candidates = None
    connection.last_error = reason
    connection.last_error_detail = detail[:500]
    emit("connection.failed", connection.customer_id, **connection_ids(connection), reason=reason)
    _note_repair_failed(connection, reason)


def _note_repair_failed(attempt: Connection, reason: str) -> None:
    """An attempt to repair a connection (a repair or reconnect link named it) ended
    without it: that connection's timeline says so, and why (``abandoned``: the customer
    never came back from the platform)."""
    run = db.session.get(JourneyRun, attempt.run_id) if attempt.run_id is not None else None
    named = (steps.reconnecting(run) or {}).get("connection") if run is not None else None
    if not named or named == attempt.public_id:
        return
    audit.record(
        "system",
        "onramp",
        "connection.repair_failed",
        "connection",
        str(named),
        None,
        {"outcome": "abandoned" if reason == "abandoned" else "failed", "reason": reason},
    )


def _fail(run_id: int | None, connection: Connection, reason: str, detail: str) -> CallbackResult:
    # Only a pending attempt can fail: a stray or replayed callback must not undo a
    # linked connection, nor overwrite the reason an earlier failure recorded. The
    # conditional update makes that hold between processes too (the worker's sweep).
    if connection.status == "pending":
        claimed = db.session.execute(
            update(Connection)
            .where(Connection.id == connection.id, Connection.status == "pending")
            .values(status="failed")
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount == 1:  # type: ignore[attr-defined]
            _mark_failed(connection, reason, detail)
    return CallbackResult(run_id, connection, reason)


def _fail_pending(run_id: int | None, platform: str, reason: str, detail: str) -> CallbackResult:
    """A callback that names no known request fails the customer's own pending attempt, if any."""
    if run_id is None:
        return CallbackResult(None, None, reason)
    connection = db.session.scalars(
        select(Connection)
        .where(
            Connection.run_id == run_id,
            Connection.platform == platform,
            Connection.status == "pending",
        )
        .order_by(Connection.id.desc())
        .limit(1)
    ).first()
    if connection is None:
        return CallbackResult(run_id, None, reason)
    return _fail(run_id, connection, reason, detail)

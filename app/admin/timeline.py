"""A customer's timeline: everything that happened to them, grouped by journey run and step.

Journey runs and their step events, consent decisions, connection attempts and
their outcome, webhook events with their deliveries, internal notes, and audit
entries about the customer or their connections. Tokens never appear: only
statuses, names and error codes are read.

``timeline`` gathers every entry (newest first); ``grouped`` sorts them into one
section per run, one group per step, and an "Other activity" group for what belongs
to no run, folding internal noise (webhook events, repeats) into technical details.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from app import clock
from app.connections import delegation as delegations
from app.connections.health import BREAK_REASONS
from app.consent import ledger
from app.customers import journey_links
from app.customers import summary as facts
from app.engine.schema import ConsentStep, Journey
from app.engine.versions import journey_for_run
from app.extensions import db
from app.models import (
    AuditEntry,
    Connection,
    ConsentRecord,
    Customer,
    CustomerNote,
    JourneyEvent,
    JourneyFeedback,
    JourneyRun,
    OutboxEvent,
    User,
    WebhookDelivery,
)

# The newest entries of each kind that a page shows; older ones stay in the database.
PER_KIND = 200


@dataclass(frozen=True)
class Entry:
    at: datetime
    kind: str  # journey, step, feedback, consent, connection, webhook, note or audit
    title: str
    details: list[str] = field(default_factory=list)
    # A word for the outcome (completed, failed, granted, succeeded, ...), if any.
    status: str | None = None
    # Breaks ties between entries of the same instant: later writes come first.
    sequence: tuple[int, int] = (0, 0)
    # The journey run (row id) and step the entry belongs to, if any.
    run_id: int | None = None
    step: str | None = None
    # Internal plumbing (webhook events and their deliveries): folded away on the page.
    noise: bool = False


@dataclass(frozen=True)
class Runs:
    """The customer's runs with the journey version each ran on (None if not kept)."""

    rows: list[JourneyRun]
    journeys: dict[int, Journey | None]

    def name(self, run_id: int | None) -> str | None:
        run = next((r for r in self.rows if r.id == run_id), None)
        return facts.journey_name(run, self.journeys[run.id]) if run is not None else None

    def step_of(self, run_id: int | None, step_type: str) -> str | None:
        """The id of the run's first step of ``step_type`` (where connecting happens, say)."""
        journey = self.journeys.get(run_id) if run_id is not None else None
        step = journey.first_of(step_type) if journey is not None else None
        return step.id if step is not None else None

    def consent_step(self, run_id: int, item_key: str) -> str | None:
        journey = self.journeys.get(run_id)
        for step in journey.steps if journey is not None else []:
            if isinstance(step, ConsentStep) and any(i.key == item_key for i in step.items):
                return step.id
        return None


_platform_name = facts.platform_name


def _seconds(duration_ms: int | None) -> str | None:
    if duration_ms is None:
        return None
    return f"took {duration_ms / 1000:.1f} s"


def _run_entries(runs: Runs) -> list[Entry]:
    entries = []
    for run in runs.rows:
        name = runs.name(run.id)
        details = [f"Version {run.journey_version[:12]}", f"Language {run.locale}"]
        entries.append(
            Entry(
                run.created_at, "journey", f"Started “{name}”", details, None, (1, run.id), run.id
            )
        )
        if run.completed_at is not None:
            entries.append(
                Entry(
                    run.completed_at,
                    "journey",
                    f"Completed “{name}”",
                    [],
                    "completed",
                    (8, run.id),
                    run.id,
                )
            )
        if run.status == "declined":
            entries.append(
                Entry(
                    run.updated_at,
                    "journey",
                    f"Declined “{name}”",
                    ["A required consent was refused."],
                    "declined",
                    (8, run.id),
                    run.id,
                )
            )
        if run.abandoned_at is not None:
            entries.append(
                Entry(
                    run.abandoned_at,
                    "journey",
                    f"Left “{name}” idle",
                    [],
                    "abandoned",
                    (8, run.id),
                    run.id,
                )
            )
    return entries


# What each step event is called, under its step's title.
STEP_WORDS = {
    "entered": "Opened this step",
    "completed": "Finished this step",
    "failed": "Could not go on",
    "saved": "Saved to finish later",
}


def _step_entries(run_ids: list[int]) -> list[Entry]:
    if not run_ids:
        return []
    events = db.session.scalars(
        select(JourneyEvent)
        .where(JourneyEvent.run_id.in_(run_ids))
        .order_by(JourneyEvent.id.desc())
        .limit(PER_KIND)
    )
    entries = []
    for event in events:
        details = [d for d in (_seconds(event.duration_ms), event.detail) if d]
        title = STEP_WORDS.get(event.kind, f"Step {event.kind}")
        if event.kind == "failed" and event.detail:
            title = f"Could not go on: {event.detail}"
            details = details[:-1]
        elif event.kind == "saved" and event.detail:
            title = f"Saved to finish later ({event.detail})"
            details = details[:-1]
        elif event.kind == "not_listed":
            # The customer's own words: the name of the software they use.
            title = f"Said their software isn't listed: {event.detail}"
            details = details[:-1]
        elif event.kind == "uploaded":
            title = f"Uploaded {event.detail or 'files'}"
            details = details[:-1]
        elif event.kind == "upload_instead":
            title = "Chose to upload their accounts instead of connecting"
        elif event.kind == "uploads_deleted":
            title = f"Uploaded files deleted: {event.detail}"
            details = []
        entries.append(
            Entry(
                event.occurred_at,
                "step",
                title,
                details,
                event.kind,
                (2, event.id),
                event.run_id,
                event.step,
            )
        )
    return entries


# How the customer put it: the labels of the ratings on the done and declined pages.
RATING_WORDS = {1: "very hard", 2: "hard", 3: "neither easy nor hard", 4: "easy", 5: "very easy"}


def _feedback_entries(runs: Runs) -> list[Entry]:
    run_ids = [run.id for run in runs.rows]
    if not run_ids:
        return []
    given = db.session.scalars(
        select(JourneyFeedback)
        .where(JourneyFeedback.run_id.in_(run_ids))
        .order_by(JourneyFeedback.id.desc())
        .limit(PER_KIND)
    )
    entries = []
    for feedback in given:
        words = RATING_WORDS.get(feedback.rating, "")
        details = [f"On the {feedback.step} page, version {feedback.journey_version[:12]}"]
        if feedback.comment:
            details.append(f"“{feedback.comment}”")
        entries.append(
            Entry(
                feedback.created_at,
                "feedback",
                f"Left feedback: {feedback.rating} of 5 ({words})",
                details,
                None,
                (9, feedback.id),
                feedback.run_id,
                feedback.step,
            )
        )
    return entries


def _consent_entries(customer: Customer, runs: Runs) -> list[Entry]:
    records = db.session.scalars(
        select(ConsentRecord)
        .where(ConsentRecord.customer_id == customer.id)
        .order_by(ConsentRecord.id.desc())
        .limit(PER_KIND)
    )
    return [
        Entry(
            record.recorded_at,
            "consent",
            f"Consent {record.decision}: "
            f"{facts.item_words(runs.journeys.get(record.run_id), record.item_key)}",
            [
                f"Item {record.item_key}, version {record.journey_version[:12]}",
                f"Language {record.locale}; text SHA-256 {record.text_sha256[:16]}…",
            ],
            record.decision,
            (3, record.id),
            record.run_id,
            runs.consent_step(record.run_id, record.item_key),
        )
        for record in records
    ]


def _connection_entries(connections: list[Connection], runs: Runs) -> list[Entry]:
    entries = []
    for connection in connections:
        name = _platform_name(connection.platform)
        where = (connection.run_id, runs.step_of(connection.run_id, "connect"))
        details = [f"Organisation {connection.org_name}"] if connection.org_name else []
        if connection.last_error:
            error = connection.last_error
            if connection.last_error_detail:
                error += f": {connection.last_error_detail}"
            details.append(f"Last error {error}")
        if connection.provider_user_role:
            signed_in = connection.provider_user or "the user"
            details.append(
                f"Signed in at {name} as {signed_in}, role {connection.provider_user_role}"
            )
        if connection.last_provider_request_id:
            # What the vendor's support asks for (Intuit's intuit_tid).
            details.append(f"Latest request id at {name}: {connection.last_provider_request_id}")
        entries.append(
            Entry(
                connection.created_at,
                "connection",
                f"Connection attempt with {name}",
                details,
                connection.status,
                (4, connection.id),
                *where,
            )
        )
        if connection.linked_at is not None:
            linked_details = [f"Organisation {connection.org_name}"] if connection.org_name else []
            role = connection.authorised_by_role or "owner"
            if role != "owner":
                who = ledger.delegate_name(connection)
                by = {"other": "someone they asked"}.get(role, f"their {role}")
                linked_details.append(f"Connected by {by}" + (f" ({who})" if who else ""))
            entries.append(
                Entry(
                    connection.linked_at,
                    "connection",
                    f"Connected to {name}",
                    linked_details,
                    "linked",
                    (5, connection.id),
                    *where,
                )
            )
        if connection.ended_at is not None:
            why = BREAK_REASONS.get(connection.last_error or "")
            broke = connection.status == "deauthorized" and why is not None
            entries.append(
                Entry(
                    connection.ended_at,
                    "connection",
                    f"Connection with {name} {'broke' if broke else 'ended'}",
                    [f"Why: {why}."] if broke else [],
                    connection.status,
                    (6, connection.id),
                    *where,
                )
            )
    return entries


def _delegation_entries(customer: Customer, runs: Runs) -> list[Entry]:
    """'Ask my accountant to do this': who was asked, and what became of the link."""
    entries = []
    for delegation in delegations.for_customer(customer)[:PER_KIND]:
        where = (delegation.run_id, runs.step_of(delegation.run_id, "connect"))
        who = delegations.name_of(delegation)
        role = {"other": "someone"}.get(delegation.role, f"their {delegation.role}")
        asked = f"Asked {role}" + (f" ({who})" if who else "") + " to connect"
        details = [f"Link works until {delegation.expires_at:%Y-%m-%d %H:%M} UTC"]
        entries.append(
            Entry(
                delegation.created_at,
                "delegation",
                asked,
                details,
                "created",
                (7, delegation.id),
                *where,
            )
        )
        if delegation.used_at is not None:
            entries.append(
                Entry(
                    delegation.used_at,
                    "delegation",
                    "Delegated link opened",
                    [],
                    "opened",
                    (7, delegation.id),
                    *where,
                )
            )
        if delegation.completed_at is not None:
            entries.append(
                Entry(
                    delegation.completed_at,
                    "delegation",
                    f"{asked}: done",
                    [],
                    "completed",
                    (7, delegation.id),
                    *where,
                )
            )
        if delegation.revoked_at is not None:
            stopped = {
                "customer": "Delegated link revoked by the customer",
                "user": "Delegated link revoked by a colleague",
                "erasure": "Delegated link stopped by the customer's erasure",
                delegations.NOT_NEEDED: "Delegated link stopped: the customer connected themselves",
            }.get(delegation.revoked_by or "", "Delegated link revoked")
            entries.append(
                Entry(
                    delegation.revoked_at,
                    "delegation",
                    stopped,
                    [],
                    "revoked",
                    (7, delegation.id),
                    *where,
                )
            )
    return entries


def _link_entries(customer: Customer) -> list[Entry]:
    """Journey links made in the console or the API: made or emailed, bounced, opened,
    revoked or reissued."""
    entries = []
    for link in journey_links.for_customer(customer)[:PER_KIND]:
        about = f"Link to the '{journey_links.journey_name(link)}' journey"
        by = link.actor_id if link.actor_type == "user" else f"API key {link.actor_id}"
        address = journey_links.masked_address(link)
        made = f"{about} emailed to {address} by {by}" if address else f"{about} made by {by}"
        details = [f"Works until {link.expires_at:%Y-%m-%d %H:%M} UTC"]
        if link.single_use:
            details.append("Single use: works only in the first browser that opens it")
        message, order = link.mail_message, (7, link.id)
        status = journey_links.SENT if message and message.status == "sent" else "created"
        entries.append(Entry(link.created_at, "link", made, details, status, order))
        if (bounced_at := journey_links.bounced_at(link)) is not None:
            bounced = f"{about}: the mail server refused {address}"
            entries.append(Entry(bounced_at, "link", bounced, [], "bounced", order))
        if link.opened_at is not None:
            entries.append(Entry(link.opened_at, "link", f"{about} opened", [], "opened", order))
        if link.revoked_at is not None:
            reissued = link.replaced_by is not None
            title = f"{about} {'reissued' if reissued else 'revoked'} by {link.revoked_by}"
            status = "reissued" if reissued else "revoked"
            entries.append(Entry(link.revoked_at, "link", title, [], status, order))
    return entries


def _webhook_entries(customer: Customer, runs: Runs) -> list[Entry]:
    events = list(
        db.session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.customer_id == customer.id)
            .order_by(OutboxEvent.id.desc())
            .limit(PER_KIND)
        )
    )
    deliveries: dict[int, list[WebhookDelivery]] = {}
    if events:
        rows = db.session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.event_id.in_([e.id for e in events]))
            .options(selectinload(WebhookDelivery.endpoint))
            .order_by(WebhookDelivery.id)
        )
        for delivery in rows:
            deliveries.setdefault(delivery.event_id, []).append(delivery)
    by_public_id = {run.public_id: run.id for run in runs.rows}
    entries = []
    for event in events:
        details = []
        for delivery in deliveries.get(event.id, []):
            attempts = f"{delivery.attempts} attempt{'s' if delivery.attempts != 1 else ''}"
            code = f", last HTTP {delivery.last_status_code}" if delivery.last_status_code else ""
            details.append(f"To {delivery.endpoint.url}: {delivery.status}, {attempts}{code}")
        if not details:
            details.append("No webhook endpoint subscribed.")
        entries.append(
            Entry(
                event.occurred_at,
                "webhook",
                f"Event {event.type}",
                details,
                None,
                (7, event.id),
                by_public_id.get(str(event.data.get("run_id"))),
                noise=True,
            )
        )
    return entries


def _note_entries(customer: Customer) -> list[Entry]:
    rows = db.session.execute(
        select(CustomerNote, User.email)
        .outerjoin(User, User.id == CustomerNote.author_id)
        .where(CustomerNote.customer_id == customer.id)
        .order_by(CustomerNote.id.desc())
        .limit(PER_KIND)
    ).all()
    return [
        Entry(
            note.created_at,
            "note",
            f"Note by {author or 'a former colleague'}",
            [note.body],
            None,
            (9, note.id),
        )
        for note, author in rows
    ]


def _change(entry: AuditEntry) -> str | None:
    before, after = entry.before or {}, entry.after or {}
    keys = sorted(set(before) | set(after))
    if not keys:
        return None
    parts = []
    for key in keys:
        if key in before and key in after and before[key] != after[key]:
            parts.append(f"{key}: {before[key]} → {after[key]}")
        elif key in after:
            parts.append(f"{key}: {after[key]}")
        else:
            parts.append(f"{key} was {before[key]}")
    return "; ".join(parts)


# The audit actions a customer's page shows most, in words.
AUDIT_WORDS = {
    "customer.link_created": "Journey link created",
    "customer.note_added": "Note added",
    "customer.create": "Customer added",
    "customer.update": "Customer details changed",
    "customer.export": "Customer's data exported",
    "connection.disconnect": "Disconnected",
    "connection.repair_reminder": "Repair reminder sent",
    "connection.repaired": "Connection repaired",
    "connection.still_broken": "Connection still broken",
    "consent.withdraw": "Consent withdrawn",
    "consent.reconfirm": "Consent kept",
    "delegation.revoked": "Delegated link revoked",
}


def _audit_entries(customer: Customer, connections: list[Connection]) -> list[Entry]:
    about = [
        (AuditEntry.subject_type == "customer") & (AuditEntry.subject_id == customer.public_id)
    ]
    if connections:
        about.append(
            (AuditEntry.subject_type == "connection")
            & AuditEntry.subject_id.in_([c.public_id for c in connections])
        )
    entries = db.session.scalars(
        select(AuditEntry).where(or_(*about)).order_by(AuditEntry.id.desc()).limit(PER_KIND)
    )
    return [
        Entry(
            entry.occurred_at,
            "audit",
            f"{AUDIT_WORDS.get(entry.action, entry.action)}"
            f" by {entry.actor_id} ({entry.actor_type})",
            [change] if (change := _change(entry)) else [],
            None,
            (10, entry.id),
        )
        for entry in entries
    ]


def _runs(customer: Customer) -> Runs:
    rows = list(
        db.session.scalars(
            select(JourneyRun)
            .where(JourneyRun.customer_id == customer.id)
            .order_by(JourneyRun.id.desc())
            .limit(PER_KIND)
        )
    )
    return Runs(rows, {run.id: journey_for_run(run) for run in rows})


def timeline(customer: Customer, connections: list[Connection]) -> list[Entry]:
    """Every kind of event about ``customer``, newest first (the newest PER_KIND of each)."""
    return _gather(customer, connections, _runs(customer))


def _gather(customer: Customer, connections: list[Connection], runs: Runs) -> list[Entry]:
    # Every source of entries, in one place: a new kind of entry is one more line here.
    entries = [
        *_run_entries(runs),
        *_step_entries([run.id for run in runs.rows]),
        *_feedback_entries(runs),
        *_consent_entries(customer, runs),
        *_connection_entries(connections, runs),
        *_delegation_entries(customer, runs),
        *_link_entries(customer),
        *_webhook_entries(customer, runs),
        *_note_entries(customer),
        *_audit_entries(customer, connections),
    ]
    return sorted(entries, key=lambda e: (e.at, e.sequence), reverse=True)


# Grouped for the page.


@dataclass(frozen=True)
class Group:
    """The entries of one step (or of the run as a whole, or of no run)."""

    title: str
    entries: list[Entry]
    # Webhook plumbing and repeats of an entry already shown: in "Technical details".
    folded: list[Entry]


@dataclass(frozen=True)
class RunSection:
    public_id: str
    journey: str
    started_at: datetime
    state: str
    groups: list[Group]


@dataclass(frozen=True)
class Grouped:
    runs: list[RunSection]
    other: Group

    @property
    def empty(self) -> bool:
        return not self.runs and not (self.other.entries or self.other.folded)


def _fold(title: str, entries: list[Entry]) -> Group:
    shown: list[Entry] = []
    folded: list[Entry] = []
    seen: set[tuple[str, str, tuple[str, ...]]] = set()
    for entry in entries:
        key = (entry.kind, entry.title, tuple(entry.details))
        (folded if entry.noise or key in seen else shown).append(entry)
        seen.add(key)
    return Group(title, shown, folded)


def _run_section(run: JourneyRun, runs: Runs, entries: list[Entry], state: str) -> RunSection:
    journey = runs.journeys[run.id]
    order = {step.id: i for i, step in enumerate(journey.steps)} if journey else {}
    by_step: dict[str | None, list[Entry]] = {}
    # Oldest first inside a run: it reads as the customer's path through the steps.
    for entry in reversed(entries):
        by_step.setdefault(entry.step, []).append(entry)
    keys = sorted(by_step, key=lambda k: -1 if k is None else order.get(k, len(order)))
    groups = [
        _fold(
            "The journey as a whole" if key is None else f"“{facts.step_title(run, key, journey)}”",
            by_step[key],
        )
        for key in keys
    ]
    return RunSection(
        run.public_id, runs.name(run.id) or run.journey_id, run.created_at, state, groups
    )


def grouped(customer: Customer, connections: list[Connection]) -> Grouped:
    """The customer's timeline as the page shows it: one section per run (newest first),
    its entries grouped by step, then everything tied to no run."""
    runs = _runs(customer)
    entries = _gather(customer, connections, runs)
    now = clock.now()
    asked = {d.run_id: d for d in delegations.for_customer(customer) if delegations.is_open(d)}
    sections = [
        _run_section(
            run,
            runs,
            [e for e in entries if e.run_id == run.id],
            facts.run_state(run, asked.get(run.id), now),
        )
        for run in runs.rows
    ]
    known = {run.id for run in runs.rows}
    other = _fold("Other activity", [e for e in entries if e.run_id not in known])
    return Grouped(sections, other)

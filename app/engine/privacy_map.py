"""A journey's data map and a draft privacy impact assessment, read from its configuration.

Pure functions over the :class:`Journey` model (and the platform catalogue): what each
consent item covers and on which legal basis, which platforms the data comes from and
with which scopes, where it goes, what Onramp itself keeps and for how long. The draft
impact assessment follows the ICO's template (GDPR Art. 35(7)): it is pre-filled with
what the configuration says, and every blank a privacy officer must fill in starts with
:data:`TO_COMPLETE`. Texts are in the journey's default language.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

from app.engine.schema import (
    ONCE,
    ONCE_DAYS,
    ConnectStep,
    ConsentPolicy,
    ConsentStep,
    FormStep,
    Journey,
    PlatformSelectStep,
    UploadStep,
)
from app.platforms import Platform, get_platform

TO_COMPLETE = "To complete:"
CONSENT_BASIS = "Consent (GDPR Art. 6(1)(a))"
NOT_SAID = "The journey's text doesn't say."


@dataclass(frozen=True)
class ConsentEntry:
    """One consent item: the data it covers, why, for how long, for whom, on what basis."""

    key: str
    step_id: str
    category: str
    purpose: str
    retention: str
    recipients: str
    required: bool
    legal_basis: str
    lasts: str
    jurisdiction: str
    notes: tuple[str, ...]


@dataclass(frozen=True)
class AnswerEntry:
    """A question the journey asks (a form field): data collected outside the consent items."""

    step_id: str
    name: str
    label: str
    type: str
    required: bool
    shown_when: str | None
    legal_basis: str


@dataclass(frozen=True)
class Processor:
    """A platform the customer may connect: where the data is read from, and with what."""

    key: str
    name: str
    scopes: tuple[str, ...]
    hosts: tuple[str, ...]


@dataclass(frozen=True)
class Flow:
    """Where data goes: to whom, what, and how."""

    to: str
    what: str
    how: str


@dataclass(frozen=True)
class Held:
    """Something Onramp keeps for this journey: what, how it is protected, how long."""

    what: str
    how: str
    kept: str


@dataclass(frozen=True)
class Risk:
    """A risk to individuals, the measures the configuration already takes, and blanks."""

    risk: str
    measures: tuple[str, ...]
    likelihood: str = f"{TO_COMPLETE} remote, possible or probable."
    severity: str = f"{TO_COMPLETE} minimal, significant or severe."


@dataclass(frozen=True)
class Section:
    """A section of the draft impact assessment: paragraphs, blanks marked TO_COMPLETE."""

    title: str
    paragraphs: tuple[str, ...]


@dataclass(frozen=True)
class PrivacyMap:
    journey_id: str
    journey_name: str
    version: str
    locale: str
    controller: str
    purpose: str
    privacy_url: str | None
    jurisdiction: str
    consent_lasts: str
    policy_version: str
    consent_items: tuple[ConsentEntry, ...]
    answers: tuple[AnswerEntry, ...]
    processors: tuple[Processor, ...]
    flows: tuple[Flow, ...]
    held: tuple[Held, ...]
    risks: tuple[Risk, ...]
    dpia: tuple[Section, ...]

    def as_dict(self) -> dict[str, Any]:
        """The data map, machine-readable (the JSON export)."""
        return asdict(self)


@dataclass(frozen=True)
class WebhookTarget:
    """An enabled webhook endpoint of the business: its URL and the event types it takes
    (none: every type)."""

    url: str
    event_types: tuple[str, ...] = ()


def to_complete(text: str) -> bool:
    """Whether a paragraph is a blank for the privacy officer."""
    return text.startswith(TO_COMPLETE)


def consent_lasts(policy: ConsentPolicy) -> str:
    """How long a grant lasts under the journey's consent policy, in words."""
    if policy.durations is not None:
        offered = [
            f"once ({ONCE_DAYS} day)" if choice == ONCE else f"{choice} days"
            for choice in policy.durations.choices
        ]
        said = f"the customer chooses: {', '.join(offered)}"
    elif policy.lifetime_days is not None:
        said = f"{policy.lifetime_days} days, then the customer is asked to reconfirm"
    else:
        said = "until the customer withdraws it"
    if policy.lifetime_days is not None or policy.durations is not None:
        said += f" (reminded {policy.reminder_days} days before it ends)"
    if policy.under_cdr:
        said += "; at most 12 months (Consumer Data Right)"
    return said


def _host(url: str) -> str:
    if url.startswith("{"):
        return url.split("}", 1)[0] + "}"  # a setting of the instance, e.g. {sandbox_url}
    return urlsplit(url).netloc or url


def _processor(key: str, lookup: Callable[[str], Platform | None]) -> Processor:
    platform = lookup(key)
    if platform is None:
        return Processor(key, f"{key} (not in the platform catalogue)", (), ())
    urls = [platform.authorize_url, platform.token_url, platform.organisation.url or ""]
    hosts = tuple(dict.fromkeys(_host(url) for url in urls if url))
    return Processor(key, platform.name, tuple(platform.scopes), hosts)


def _consent_entries(journey: Journey) -> list[ConsentEntry]:
    policy = journey.policy
    locale = journey.default_locale
    uploads = [s for s in journey.steps if isinstance(s, UploadStep)]
    entries = []
    for step in journey.steps:
        if not isinstance(step, ConsentStep):
            continue
        for item in step.items:
            notes = []
            if item.required:
                notes.append(
                    f"{TO_COMPLETE} required to go on: check that consent is freely given "
                    "(Art. 7(4)), or name another basis, such as a contract (Art. 6(1)(b)) "
                    "or a legal obligation (Art. 6(1)(c))."
                )
            for upload in uploads:
                if item.key in upload.covered_by:
                    notes.append(f"Also covers the files uploaded at step {upload.id}.")
            entries.append(
                ConsentEntry(
                    key=item.key,
                    step_id=step.id,
                    category=journey.text(item.category, locale),
                    purpose=journey.text(item.purpose, locale),
                    retention=journey.text(item.retention, locale),
                    recipients=journey.text(item.recipients, locale),
                    required=item.required,
                    legal_basis=CONSENT_BASIS,
                    lasts=consent_lasts(policy),
                    jurisdiction=policy.jurisdiction,
                    notes=tuple(notes),
                )
            )
    return entries


def _answers(journey: Journey) -> list[AnswerEntry]:
    basis = f"{TO_COMPLETE} the legal basis for asking it ({NOT_SAID.lower()[:-1]})."
    return [
        AnswerEntry(
            step_id=step.id,
            name=f.name,
            label=journey.text(f.label, journey.default_locale),
            type=f.type,
            required=f.required,
            shown_when=step.when,
            legal_basis=basis,
        )
        for step in journey.steps
        if isinstance(step, FormStep)
        for f in step.fields
    ]


def _offered(journey: Journey) -> list[str]:
    keys: list[str] = []
    for step in journey.steps:
        if isinstance(step, PlatformSelectStep):
            for key in step.platforms:
                if key not in keys:
                    keys.append(key)
    return keys


def _flows(journey: Journey, webhooks: Sequence[WebhookTarget]) -> list[Flow]:
    business = journey.business.name
    flows = []
    if _offered(journey):
        flows.append(
            Flow(
                business,
                "The connected organisation, the consent decisions and the access the "
                "customer granted, with which the business reads the accounting data "
                "from the platform.",
                "Onramp's API, with the business's API keys (credentials: only keys with "
                "that scope).",
            )
        )
    if any(isinstance(s, FormStep) for s in journey.steps):
        flows.append(
            Flow(business, "The customer's answers to the journey's questions.", "Onramp's API.")
        )
    for step in journey.steps:
        if isinstance(step, UploadStep):
            covered = ", ".join(step.covered_by) or "no consent item"
            flows.append(
                Flow(
                    business,
                    f"Files the customer uploads at step {step.id} "
                    f"({', '.join(step.kinds)}; at most {step.max_files}, "
                    f"{step.max_file_mb} MB each).",
                    f"Onramp's API, only while {covered} stays granted.",
                )
            )
        if isinstance(step, PlatformSelectStep) and step.not_listed:
            flows.append(
                Flow(
                    business,
                    "The name of software the customer says isn't listed.",
                    "The console, the funnel and the journey.software_not_listed event.",
                )
            )
        if isinstance(step, ConnectStep) and step.delegate:
            flows.append(
                Flow(
                    "The person the customer asks to connect for them (accountant, "
                    "bookkeeper, other)",
                    "Their name and email address, the business's name and a single-use "
                    f"link that works for {step.delegate_days} days; they see which "
                    "organisation they connect.",
                    "Email from Onramp, in the business's name.",
                )
            )
    for hook in webhooks:
        kinds = ", ".join(hook.event_types) if hook.event_types else "every event type"
        flows.append(
            Flow(
                _host(hook.url),
                f"Event notices ({kinds}): ids, statuses, the customer's external id; "
                "no accounting data.",
                "Signed webhooks (Standard Webhooks) to the business's endpoint.",
            )
        )
    for origin in journey.integration.allowed_origins:
        flows.append(
            Flow(
                _host(origin),
                "The journey shown in a frame, and its progress events in the browser.",
                "Embedding (allowed origins).",
            )
        )
    if journey.policy.lifetime_days is not None or journey.policy.durations is not None:
        flows.append(
            Flow(
                "The mail server Onramp is set up with",
                "The customer's email address and a link to reconfirm their consent.",
                f"Reminder emails, {journey.policy.reminder_days} days before consent ends.",
            )
        )
    return flows


def _held(journey: Journey) -> list[Held]:
    retention = journey.retention
    abandoned = (
        f"Abandoned runs' answers and events are purged after {retention.abandoned_runs_days} days."
        if retention and retention.abandoned_runs_days
        else f"{TO_COMPLETE} the journey sets no retention.abandoned_runs_days: abandoned "
        "runs are kept until the customer is erased."
    )
    held = [
        Held(
            "The customer: name, email address, the business's id for them",
            "In Onramp's database; replaced by a placeholder when the customer is erased.",
            "Until erased (flask customers erase).",
        ),
        Held(
            "The consent ledger: every grant, decline, withdrawal, reconfirmation and "
            "expiry, with the wording's version, jurisdiction and policy version",
            "Append-only, hash-chained; the personal details in each record (name, email, "
            "IP address, browser) are encrypted with the customer's own data key.",
            "As evidence of consent (Art. 7(1)); erasure destroys the customer's data key.",
        ),
    ]
    if _offered(journey):
        held.append(
            Held(
                "Access and refresh tokens of each connection",
                "Encrypted at rest; never shown in the console or exports.",
                "Until the customer withdraws a required item, consent expires, or the "
                "connection is disconnected: then revoked at the platform and deleted.",
            )
        )
    held.append(
        Held(
            "The journey's runs: answers, journey events (which step, when)",
            "In Onramp's database.",
            abandoned,
        )
    )
    for step in journey.steps:
        if isinstance(step, UploadStep):
            days = retention.uploads_days if retention else None
            held.append(
                Held(
                    f"Files uploaded at step {step.id}",
                    "Encrypted with the customer's own data key; checked by content.",
                    f"Deleted after {days} days."
                    if days
                    else f"{TO_COMPLETE} the journey sets no retention.uploads_days: "
                    "files are kept until the customer is erased.",
                )
            )
        if isinstance(step, ConnectStep) and step.delegate:
            held.append(
                Held(
                    "Who the customer asked to connect for them: name, email address, role",
                    "In Onramp's database; the link works once.",
                    f"The link for {step.delegate_days} days; the record until the "
                    "customer is erased.",
                )
            )
    held.append(
        Held(
            "The audit log of colleagues' actions about the customer",
            "In Onramp's database; personal values removed when the customer is erased.",
            f"{TO_COMPLETE} how long the business keeps its audit log.",
        )
    )
    return held


def _risks(journey: Journey, processors: Sequence[Processor]) -> list[Risk]:
    policy = journey.policy
    optional = any(
        not item.required
        for step in journey.steps
        if isinstance(step, ConsentStep)
        for item in step.items
    )
    reading = [
        "Each consent item says what is read, why, for how long and for whom, before "
        "the customer agrees.",
        "Optional items are never ticked for the customer."
        if optional
        else "Every item is required: nothing optional is asked.",
    ]
    if processors:
        scopes = sorted({s for p in processors for s in p.scopes})
        reading.append(f"Scopes asked of the platforms: {', '.join(scopes) or 'none'}.")
    risks = [
        Risk(
            "More of the business's financial records is read than the purpose needs.",
            tuple(reading),
        ),
        Risk(
            "Consent is not freely given, or the customer cannot withdraw it easily.",
            (
                "The customer's own page lets them withdraw each item at any time.",
                f"Consent lasts {consent_lasts(policy)}.",
                "Declining says what it means, and nothing is read.",
            ),
        ),
    ]
    if processors:
        risks.append(
            Risk(
                "Access tokens are stolen and used to read the accounts.",
                (
                    "Tokens are encrypted at rest and never shown.",
                    "Withdrawing a required item or its expiry revokes them at the platform.",
                    "The business fetches them only with an API key of the credentials scope.",
                ),
            )
        )
    days = journey.retention.abandoned_runs_days if journey.retention else None
    retained = (
        f"Abandoned runs are purged after {days} days."
        if days
        else f"{TO_COMPLETE} set retention.abandoned_runs_days."
    )
    risks.append(
        Risk(
            "Data is kept longer than the customer was told.",
            (retained, "Customers can be erased on request (flask customers erase)."),
        )
    )
    for step in journey.steps:
        if isinstance(step, ConnectStep) and step.delegate:
            risks.append(
                Risk(
                    "A delegated link reaches someone the customer didn't mean.",
                    (
                        "The link works once and for "
                        f"{step.delegate_days} days; the customer can cancel it.",
                        "The person asked connects with their own login at the platform.",
                    ),
                )
            )
        if isinstance(step, UploadStep):
            risks.append(
                Risk(
                    "Uploaded files hold more personal data than needed.",
                    (
                        f"Only {', '.join(step.kinds)} files, at most {step.max_files}.",
                        "Encrypted with the customer's data key; handed out only while "
                        "the items covering them stay granted.",
                    ),
                )
            )
    return risks


def _dpia(
    journey: Journey,
    entries: Sequence[ConsentEntry],
    answers: Sequence[AnswerEntry],
    processors: Sequence[Processor],
    flows: Sequence[Flow],
    held: Sequence[Held],
) -> list[Section]:
    business = journey.business.name
    purpose = journey.text(journey.business.purpose, journey.default_locale)
    categories = "; ".join(e.category for e in entries) or "none named"
    platforms = ", ".join(p.name for p in processors) or "none"
    named = dict.fromkeys(e.recipients.rstrip(".") for e in entries)
    recipients = "; ".join(named) + "." if named else NOT_SAID
    privacy = (
        f"The journey links to the privacy policy at {journey.business.privacy_url}."
        if journey.business.privacy_url
        else f"{TO_COMPLETE} the journey names no privacy policy (business.privacy_url)."
    )
    return [
        Section(
            "1. The need for a DPIA",
            (
                f"{business} asks its customers to share their business's accounting "
                f"records; in the journey's words, “{purpose}”. Financial records of small "
                "businesses often hold personal data: of sole traders and partners, and of "
                "the people they trade with.",
                f"{TO_COMPLETE} why an assessment is needed (for example: financial data, "
                "ongoing monitoring, data matched with other sources, large scale).",
            ),
        ),
        Section(
            "2. Description of the processing",
            (
                "Nature: the customer follows the journey "
                f"“{journey.name}” ({len(journey.steps)} steps), agrees to each consent "
                f"item, then connects their accounting software ({platforms}) with "
                "read access, which Onramp keeps for the business.",
                f"Scope: data categories: {categories}."
                + (f" Questions asked: {len(answers)}." if answers else ""),
                f"Where data goes: {len(flows)} destinations (see the data map). "
                f"What Onramp keeps: {len(held)} kinds of record (see the data map).",
                f"Consent lasts {consent_lasts(journey.policy)}; jurisdiction "
                f"{journey.policy.jurisdiction}.",
                f"{TO_COMPLETE} how many customers, how often, and the area covered.",
                f"Context: the customers of {business} who follow this journey.",
                f"{TO_COMPLETE} would they expect this use, are any of them vulnerable, "
                "any prior concerns or security flaws.",
                f"Purposes: “{purpose}”"
                + "".join(f"; {e.key}: {e.purpose.rstrip('.')}" for e in entries)
                + ".",
            ),
        ),
        Section(
            "3. Consultation",
            (
                f"{TO_COMPLETE} who was consulted (customers, the data protection officer, "
                "security, the platforms, processors) and what they said.",
            ),
        ),
        Section(
            "4. Necessity and proportionality",
            (
                f"Lawful basis: {CONSENT_BASIS} for each consent item; the customer sees "
                "each item's category, purpose, retention and recipients before agreeing.",
                (
                    f"{TO_COMPLETE} the lawful basis for the journey's {len(answers)} "
                    f"questions ({NOT_SAID.lower()[:-1]})."
                    if answers
                    else "The journey asks no questions besides its consent items."
                ),
                f"Recipients named by the journey: {recipients}",
                privacy,
                "Withdrawal: at any time, from the customer's own page; tokens are then "
                "revoked at the platform.",
                f"{TO_COMPLETE} contracts with the processors (the platforms, Onramp's "
                "hosting, the mail server) and any transfer outside the UK/EEA.",
            ),
        ),
        Section(
            "5. Risks to individuals",
            ("See the table of risks: each with the measures the configuration already takes.",),
        ),
        Section(
            "6. Measures to reduce risk",
            (
                f"{TO_COMPLETE} further measures for each risk, whether it is eliminated, "
                "reduced or accepted, and the residual risk.",
            ),
        ),
        Section(
            "7. Sign off and outcomes",
            (
                f"{TO_COMPLETE} measures approved by (name, date).",
                f"{TO_COMPLETE} residual risks approved by (name, date).",
                f"{TO_COMPLETE} the data protection officer's advice, and whether it was followed.",
                f"{TO_COMPLETE} who keeps this assessment under review, and when.",
            ),
        ),
    ]


def build(
    journey: Journey,
    webhooks: Iterable[WebhookTarget] = (),
    lookup: Callable[[str], Platform | None] = get_platform,
) -> PrivacyMap:
    """The data map and draft impact assessment of ``journey``; ``webhooks``: the
    business's enabled endpoints (where events about the journey go)."""
    hooks = list(webhooks)
    entries = _consent_entries(journey)
    answers = _answers(journey)
    processors = [_processor(key, lookup) for key in _offered(journey)]
    flows = _flows(journey, hooks)
    held = _held(journey)
    policy = journey.policy
    return PrivacyMap(
        journey_id=journey.id,
        journey_name=journey.name,
        version=journey.version,
        locale=journey.default_locale,
        controller=journey.business.name,
        purpose=journey.text(journey.business.purpose, journey.default_locale),
        privacy_url=str(journey.business.privacy_url) if journey.business.privacy_url else None,
        jurisdiction=policy.jurisdiction,
        consent_lasts=consent_lasts(policy),
        policy_version=policy.policy_version or f"the journey version ({journey.version[:12]})",
        consent_items=tuple(entries),
        answers=tuple(answers),
        processors=tuple(processors),
        flows=tuple(flows),
        held=tuple(held),
        risks=tuple(_risks(journey, processors)),
        dpia=tuple(_dpia(journey, entries, answers, processors, flows, held)),
    )


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """A Markdown table, cells escaped, and the blank line after it."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return [*lines, ""]


def _para(text: str) -> str:
    return f"**{TO_COMPLETE}**{text.removeprefix(TO_COMPLETE)}" if to_complete(text) else text


def to_markdown(pm: PrivacyMap) -> str:
    """The data map and draft impact assessment as a Markdown document to complete."""
    lines = [
        f"# Data map and privacy impact assessment (draft): {pm.journey_name}",
        "",
        f"Journey `{pm.journey_id}`, version `{pm.version}`, texts in `{pm.locale}`. "
        f"Generated from the journey's configuration: every **{TO_COMPLETE}** is for "
        "the privacy officer.",
        "",
        f"- Controller: {pm.controller}",
        f"- Purpose: {pm.purpose}",
        f"- Privacy policy: {pm.privacy_url or f'**{TO_COMPLETE}** none named'}",
        f"- Consent lasts: {pm.consent_lasts}",
        f"- Jurisdiction: {pm.jurisdiction}; privacy policy version: {pm.policy_version}",
        "",
        "## Data map",
        "",
        "### Consent items",
        "",
    ]
    lines += markdown_table(
        (
            "Item",
            "Category",
            "Purpose",
            "Retention",
            "Recipients",
            "Required",
            "Legal basis",
            "Notes",
        ),
        (
            (
                f"`{e.key}`",
                e.category,
                e.purpose,
                e.retention,
                e.recipients,
                "required" if e.required else "optional",
                e.legal_basis,
                " ".join(_para(n) for n in e.notes),
            )
            for e in pm.consent_items
        ),
    )
    if pm.answers:
        lines += ["### Questions asked", ""]
        lines += markdown_table(
            ("Field", "Label", "Type", "Required", "Shown", "Legal basis"),
            (
                (
                    f"`{a.step_id}.{a.name}`",
                    a.label,
                    a.type,
                    "required" if a.required else "optional",
                    f"only when `{a.shown_when}`" if a.shown_when else "always",
                    _para(a.legal_basis),
                )
                for a in pm.answers
            ),
        )
    lines += ["### Processors and sources: the platforms offered", ""]
    lines += markdown_table(
        ("Platform", "Scopes", "Hosts"),
        ((f"{p.name} (`{p.key}`)", ", ".join(p.scopes), ", ".join(p.hosts)) for p in pm.processors),
    )
    lines += ["### Where data goes", ""]
    lines += markdown_table(("To", "What", "How"), ((f.to, f.what, f.how) for f in pm.flows))
    lines += ["### What Onramp keeps", ""]
    lines += markdown_table(
        ("What", "How", "Kept"), ((h.what, h.how, _para(h.kept)) for h in pm.held)
    )
    lines += ["## Privacy impact assessment (draft)", ""]
    for section in pm.dpia:
        lines += [f"### {section.title}", ""]
        for paragraph in section.paragraphs:
            lines += [_para(paragraph), ""]
        if section.title.startswith("5."):
            lines += markdown_table(
                ("Risk", "Measures in the configuration", "Likelihood", "Severity"),
                (
                    (
                        r.risk,
                        " ".join(_para(m) for m in r.measures),
                        _para(r.likelihood),
                        _para(r.severity),
                    )
                    for r in pm.risks
                ),
            )
    return "\n".join(lines).rstrip() + "\n"

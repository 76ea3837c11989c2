"""The journey format: the pydantic models a journey's YAML must fit, field by field.

A journey's version is the SHA-256 of its canonical content, so a run and every consent
record can say exactly which wording the customer saw. The checks of a journey as a whole
are in ``checks.py``; reading files and YAML in ``loading.py``; which journeys are current
in ``registry.py``.
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import cached_property
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    field_validator,
)

from app.engine.branding import Brand
from app.engine.conditions import Condition, parse_condition

ID_PATTERN = r"^[a-z][a-z0-9_-]{0,63}$"


LOCALE_PATTERN = r"^[a-z]{2}(-[A-Z]{2})?$"


# Paths a step id must not take: they are routes of their own.
RESERVED_STEP_IDS = {"declined", "language", "organisation", "delegate", "delegated"}


class Translatable:
    """Marks a field whose text is shown to customers and so needs every locale."""


# Either one string (a journey in one language) or one string per locale.
LocalText = Annotated[str | dict[str, str], Translatable]


def localise(value: str | dict[str, str] | None, locale: str, fallback: str) -> str:
    """The text of ``value`` in ``locale``, else in the journey's default locale."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return value.get(locale) or value.get(fallback) or next(iter(value.values()), "")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Business(_Strict):
    name: str = Field(min_length=1, max_length=200)
    purpose: LocalText = Field(description="Why the business asks for the data.")
    privacy_url: HttpUrl | None = None
    terms_url: HttpUrl | None = None
    support_email: str | None = None
    support_phone: str | None = None
    brand: Brand = Field(default_factory=Brand)
    show_onramp: bool = Field(
        default=False,
        description="Say in the footer that the business uses Onramp; customers otherwise "
        "see only the business's name.",
    )


# A duration choice meaning a one-off grant: access ends ONCE_DAYS after the customer agrees.
ONCE = "once"
ONCE_DAYS = 1
# Australia's Consumer Data Right caps ongoing consent at 12 months and has the customer
# choose how long: jurisdictions under it (AU, AU-NSW, ...).
CDR_MAX_DAYS = 365

# "once", or ongoing for this many days.
DurationChoice = Literal["once"] | Annotated[int, Field(ge=1, le=3650)]


class Durations(_Strict):
    """The customer chooses how long to share, from these choices."""

    choices: list[DurationChoice] = Field(
        min_length=2,
        description="'once' (access ends a day after agreeing) and/or a number of days of "
        "ongoing sharing; at most lifetime_days when set (365 days in Australia).",
    )
    default: DurationChoice | None = Field(
        default=None,
        description="The choice selected to begin with; none in Australia, where the "
        "customer must make the choice.",
    )


class ConsentPolicy(_Strict):
    """How long consent lasts and under which rules it was asked (kept on every record)."""

    lifetime_days: int | None = Field(
        default=None,
        ge=1,
        le=3650,
        description="Days a grant lasts before it must be reconfirmed; none: until withdrawn.",
    )
    reminder_days: int = Field(
        default=14, ge=1, le=365, description="Days before expiry the customer is reminded."
    )
    jurisdiction: str = Field(
        default="GB",
        pattern=r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$",
        description="Where the consent is given (ISO 3166 code), as the receipt states.",
    )
    policy_version: str | None = Field(
        default=None,
        max_length=64,
        description="The privacy policy's version; the journey version when not given.",
    )
    durations: Durations | None = Field(
        default=None,
        description="Let the customer choose how long to share: once, or ongoing for one "
        "of the numbers of days given.",
    )

    @property
    def under_cdr(self) -> bool:
        """Whether Australia's Consumer Data Right applies: ongoing consent lasts 12 months
        at most and the customer must choose how long, nothing chosen for them."""
        return self.jurisdiction.split("-")[0] == "AU"

    @property
    def longest_days(self) -> int | None:
        """The longest ongoing consent the policy allows (None: no cap)."""
        caps = [d for d in (self.lifetime_days, CDR_MAX_DAYS if self.under_cdr else None) if d]
        return min(caps) if caps else None

    @property
    def preselected_duration(self) -> str | None:
        """The duration choice selected when the consent step opens (as the form's value)."""
        if self.durations is None or self.durations.default is None or self.under_cdr:
            return None
        return str(self.durations.default)

    def duration_days(self, choice: str) -> int | None:
        """Days a grant lasts for a choice (the form's value), or None if not one offered."""
        if self.durations is None:
            return None
        for offered in self.durations.choices:
            if str(offered) == choice:
                return ONCE_DAYS if offered == ONCE else int(offered)
        return None


class Retention(_Strict):
    """How long what a customer left unfinished, or uploaded, is kept."""

    abandoned_runs_days: int | None = Field(
        default=None,
        ge=1,
        le=3650,
        description="Days after which an abandoned run's answers and events are purged.",
    )
    uploads_days: int | None = Field(
        default=None,
        ge=1,
        le=3650,
        description="Days after which files customers uploaded are deleted.",
    )


ORIGIN_PATTERN = r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$"


class Integration(_Strict):
    """Where the business's own site meets the journey."""

    allowed_origins: list[Annotated[str, Field(pattern=ORIGIN_PATTERN)]] = Field(
        default_factory=list,
        description="Origins (scheme://host[:port]) that may embed the journey in a frame "
        "and receive its events.",
    )
    return_urls: list[HttpUrl] = Field(
        default_factory=list,
        description="URLs (or URL prefixes) a link may send the customer back to when done.",
    )

    def allows_return_to(self, url: str) -> bool:
        """Whether ``url`` is, or lies under, one of the allowed return URLs."""
        asked = urlsplit(url)
        if asked.scheme not in ("http", "https") or not asked.netloc or asked.username:
            return False
        for allowed in self.return_urls:
            base = urlsplit(str(allowed))
            if (asked.scheme, asked.netloc.lower()) != (base.scheme, base.netloc.lower()):
                continue
            prefix = base.path.rstrip("/")
            if asked.path == prefix or asked.path.startswith(prefix + "/") or not prefix:
                return True
        return False


class _Step(_Strict):
    id: str = Field(pattern=ID_PATTERN)
    title: LocalText
    body: LocalText = ""
    when: str | None = Field(
        default=None, min_length=1, description="Show the step only when this condition holds."
    )

    @cached_property
    def condition(self) -> Condition | None:
        return parse_condition(self.when) if self.when else None


class WelcomeStep(_Step):
    type: Literal["welcome"]


class ConsentItem(_Strict):
    key: str = Field(pattern=ID_PATTERN)
    category: LocalText = Field(description="The data category, in plain words.")
    purpose: LocalText
    retention: LocalText = Field(description="How long the data is kept.")
    recipients: LocalText = Field(description="Who receives the data.")
    required: bool = False


class ConsentStep(_Step):
    type: Literal["consent"]
    items: list[ConsentItem] = Field(min_length=1)
    decline_text: LocalText = Field(description="What declining means for the customer.")
    agreement: Literal["tick", "button"] = Field(
        default="tick",
        description="How required items are agreed: 'tick', a checkbox each before 'Agree "
        "and continue'; 'button', by 'Agree and continue' itself, which says so beside it. "
        "Optional items are always unticked checkboxes. The ledger keeps which it was.",
    )

    @property
    def agreed_by_button(self) -> bool:
        return self.agreement == "button"

    def ticked(self, item: ConsentItem) -> bool:
        """Whether ``item`` has a checkbox of its own on the page."""
        return not (item.required and self.agreed_by_button)


class PlatformSelectStep(_Step):
    type: Literal["platform_select"]
    platforms: list[str] = Field(min_length=1, description="Offered platforms, in this order.")
    not_listed: bool = Field(
        default=False,
        description="Under the platforms, let the customer name software that isn't listed: "
        "the business sees it in the console, the funnel and a journey.software_not_listed event.",
    )
    not_listed_text: LocalText | None = Field(
        default=None,
        description="Your own words above the field where the customer names their software.",
    )


class InstructionsStep(_Step):
    type: Literal["instructions"]
    # Markdown per platform key, replacing the platform's default instructions.
    overrides: dict[str, LocalText] = Field(default_factory=dict)


# The connect step's delegation options as they are when unset: a journey without them
# keeps the version it had before they existed.
class ConnectStep(_Step):
    type: Literal["connect"]
    allow_multiple: bool = Field(
        default=False, description="Let the customer connect more than one organisation."
    )
    delegate: bool = Field(
        default=False,
        description='Offer "Ask my accountant to do this": the customer names someone '
        "(accountant, bookkeeper, other) who receives a single-use link and connects for them.",
    )
    delegate_days: int = Field(
        default=7, ge=1, le=30, description="How many days a delegated link works (1 to 30)."
    )
    delegate_text: LocalText | None = Field(
        default=None,
        description="Your own words above the form where the customer names who connects.",
    )


# The kinds of file an upload step may accept: each is checked by its content, not its name.
UploadKind = Literal["pdf", "csv", "xlsx"]
UPLOAD_KINDS: tuple[UploadKind, ...] = ("pdf", "csv", "xlsx")


class UploadStep(_Step):
    """The customer uploads files (their accounts, say) instead of connecting software."""

    type: Literal["upload"]
    kinds: list[UploadKind] = Field(
        default_factory=lambda: list(UPLOAD_KINDS),
        min_length=1,
        description="The kinds of file accepted: pdf, csv and/or xlsx.",
    )
    max_files: int = Field(default=10, ge=1, le=50, description="Files at most, in all.")
    max_file_mb: int = Field(default=10, ge=1, le=25, description="Megabytes at most per file.")
    covered_by: list[str] = Field(
        default_factory=list,
        description="Keys of consent items (of an earlier consent step) that must be granted "
        "to upload; the files are handed out only while they stay granted.",
    )
    fallback: bool = Field(
        default=False,
        description="Offer uploading only instead of connecting: when the customer's software "
        "isn't listed or connecting failed, they may choose 'Upload my accounts instead'.",
    )
    offer_text: LocalText | None = Field(
        default=None,
        description="Your own words beside the 'Upload my accounts instead' button "
        "(with fallback: true).",
    )

    @property
    def max_file_bytes(self) -> int:
        return self.max_file_mb * 1024 * 1024


class FieldMessages(_Strict):
    """Error messages for a form field's rules; each has a sensible default."""

    required: LocalText | None = None
    length: LocalText | None = None
    pattern: LocalText | None = None
    range: LocalText | None = None
    invalid: LocalText | None = None


class FieldOption(_Strict):
    value: str = Field(min_length=1, max_length=100)
    label: LocalText


FieldType = Literal["text", "email", "phone", "number", "date", "select", "radio", "checkbox"]


class FormField(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    label: LocalText
    type: FieldType = "text"
    hint: LocalText | None = None
    required: bool = False
    min_length: int | None = Field(default=None, ge=0)
    max_length: int | None = Field(default=None, ge=1, le=10_000)
    pattern: str | None = None
    min: float | None = None
    max: float | None = None
    options: list[FieldOption] = Field(default_factory=list)
    messages: FieldMessages = Field(default_factory=FieldMessages)

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from exc
        return value


class FormStep(_Step):
    type: Literal["form"]
    fields: list[FormField] = Field(min_length=1)


class ReviewStep(_Step):
    type: Literal["review"]


class DoneStep(_Step):
    type: Literal["done"]
    return_url: HttpUrl | None = Field(default=None, description="Back to the business's site.")
    return_label: LocalText | None = None
    uploaded_title: LocalText | None = Field(
        default=None,
        description="The title instead, for a customer who uploaded files rather than "
        "connecting (the journey has an upload step).",
    )
    uploaded_body: LocalText | None = Field(
        default=None,
        description="The text instead, for a customer who uploaded files. Markdown.",
    )

    feedback: bool = Field(
        default=True,
        description="Offer the customer a rating and a one-line comment on this page and on "
        "the declined page; colleagues read them next to the funnel (journey.feedback).",
    )

    def heading(self, uploaded: bool) -> str | dict[str, str]:
        return self.uploaded_title if uploaded and self.uploaded_title else self.title

    def text_for(self, uploaded: bool) -> str | dict[str, str]:
        return self.uploaded_body if uploaded and self.uploaded_body else self.body


Step = Annotated[
    WelcomeStep
    | ConsentStep
    | PlatformSelectStep
    | InstructionsStep
    | ConnectStep
    | FormStep
    | UploadStep
    | ReviewStep
    | DoneStep,
    Field(discriminator="type"),
]


STEP_TYPES = (
    "welcome",
    "consent",
    "platform_select",
    "instructions",
    "connect",
    "form",
    "upload",
    "review",
    "done",
)


# Step options added after journeys were first published, with the value that means
# "not set": a journey that leaves them unset keeps its version.
OPTIONS_ADDED_LATER: dict[str, tuple[tuple[str, Any], ...]] = {
    "platform_select": (("not_listed", False), ("not_listed_text", None)),
    "connect": (("delegate", False), ("delegate_days", 7), ("delegate_text", None)),
    "done": (("uploaded_title", None), ("uploaded_body", None), ("feedback", True)),
}


class Journey(_Strict):
    id: str = Field(pattern=ID_PATTERN)
    name: str = Field(min_length=1)
    locales: list[Annotated[str, Field(pattern=LOCALE_PATTERN)]] = Field(
        default_factory=lambda: ["en"], min_length=1, description="The first is the default."
    )
    business: Business
    integration: Integration = Field(default_factory=Integration)
    consent_policy: ConsentPolicy | None = None
    retention: Retention | None = None
    steps: list[Step] = Field(min_length=2)

    @property
    def default_locale(self) -> str:
        return self.locales[0]

    @property
    def policy(self) -> ConsentPolicy:
        return self.consent_policy or ConsentPolicy()

    @cached_property
    def version(self) -> str:
        content = self.model_dump(mode="json")
        # Sections added later count only when set: older journeys keep their versions.
        for section in ("consent_policy", "retention"):
            if content[section] is None:
                del content[section]
        if content.get("consent_policy", {}).get("durations", 0) is None:
            del content["consent_policy"]["durations"]
        if content.get("retention", {}).get("uploads_days", 0) is None:
            del content["retention"]["uploads_days"]
        for step in content["steps"]:
            for option, unset in OPTIONS_ADDED_LATER.get(step["type"], ()):
                if option in step and step[option] == unset:
                    del step[option]
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()

    def step(self, step_id: str) -> Step | None:
        return next((s for s in self.steps if s.id == step_id), None)

    @property
    def fallback_upload(self) -> UploadStep | None:
        """The upload step offered instead of connecting, if the journey has one."""
        return next((s for s in self.steps if isinstance(s, UploadStep) and s.fallback), None)

    def first_of(self, step_type: str) -> Step | None:
        return next((s for s in self.steps if s.type == step_type), None)

    def index(self, step_id: str) -> int:
        return next(i for i, s in enumerate(self.steps) if s.id == step_id)

    def text(self, value: str | dict[str, str] | None, locale: str) -> str:
        return localise(value, locale, self.default_locale)


def answer_fields(step: Step) -> set[str]:
    """The names a ``when:`` condition may use after ``step_id.``."""
    if isinstance(step, FormStep):
        return {f.name for f in step.fields}
    if isinstance(step, ConsentStep):
        return {item.key for item in step.items}
    if isinstance(step, PlatformSelectStep):
        return {"platform"}
    if isinstance(step, ConnectStep):
        return {"platform"}
    return set()


Problem = tuple[str, str]


def json_schema() -> dict[str, Any]:
    return Journey.model_json_schema()

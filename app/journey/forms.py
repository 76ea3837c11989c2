"""The forms of the customer journey; every one carries a CSRF token."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import cache
from typing import Any

from babel.support import NullTranslations, Translations
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    EmailField,
    Field,
    HiddenField,
    MultipleFileField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TelField,
)
from wtforms.i18n import messages_path
from wtforms.validators import (
    AnyOf,
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from app import clock, files
from app.connections.uploads import CheckedFile
from app.consent.ledger import duration_options, duration_question
from app.engine.feedback import COMMENT_MAX_LENGTH as FEEDBACK_COMMENT_MAX_LENGTH
from app.engine.schema import ConsentItem, ConsentStep, FormField, FormStep, Journey, UploadStep
from app.platforms import Platform


@cache
def _wtforms_messages(locale: str) -> NullTranslations:
    return Translations.load(messages_path(), [locale], domain="wtforms")


class JourneyForm(FlaskForm):
    """A journey form: WTForms' own messages in the customer's language, as with any
    FlaskForm, but their catalogue is read once per language, not on every request (as
    Flask-WTF does: a tenth of a step page's time)."""

    class Meta(FlaskForm.Meta):
        def get_translations(self, form: Any) -> NullTranslations:
            return _wtforms_messages(str(get_locale() or "en"))


PHONE_PATTERN = r"^\+?[0-9][0-9 ()\-]{5,19}$"


class ContinueForm(JourneyForm):
    """A step with nothing to ask: welcome, instructions, review."""

    submit = SubmitField(_l("Continue"))


class ConnectForm(JourneyForm):
    submit = SubmitField(_l("Connect"))
    finish = SubmitField(_l("Continue"))


class ReconsiderForm(JourneyForm):
    submit = SubmitField(_l("Review what you're asked to share"))


class FinishLaterForm(JourneyForm):
    """On every step under way: the answers are kept, a link brings the customer back."""

    submit = SubmitField(_l("Save and finish later"))


class LanguageForm(JourneyForm):
    locale = HiddenField()
    next = HiddenField()


def consent_field_name(item: ConsentItem) -> str:
    return f"consent_{item.key}"


class ConsentForm(JourneyForm):
    agree = SubmitField(_l("Agree and continue"))
    decline = SubmitField(_l("Decline and stop"))

    step: ConsentStep
    categories: dict[str, str]
    # The customer's choice of how long to share, where the journey asks (else None).
    duration: RadioField | None = None

    @property
    def declining(self) -> bool:
        return bool(self.decline.data)

    def validate(self, extra_validators: Any = None) -> bool:
        if not super().validate(extra_validators):
            return False
        if self.declining:
            return True
        chosen = self.duration is None or self._duration_chosen(self.duration)
        missing = [
            i
            for i in self.step.items
            if i.required and self.step.ticked(i) and not self[consent_field_name(i)].data
        ]
        for item in missing:
            self[consent_field_name(item)].errors = [
                _(
                    "Tick “%(category)s” to continue, or choose Decline and stop",
                    category=self.categories[item.key],
                )
            ]
        return chosen and not missing

    @staticmethod
    def _duration_chosen(field: RadioField) -> bool:
        if field.data in {choice.value for choice in field.choices or []}:
            return True
        field.errors = [_("Choose how long to share, or choose Decline and stop")]
        return False

    def chosen_duration(self) -> str | None:
        return self.duration.data if self.duration is not None else None

    def granted(self) -> set[str]:
        """Items ticked, and those the button agrees to (never when declining)."""
        return {
            i.key
            for i in self.step.items
            if not self.step.ticked(i) or self[consent_field_name(i)].data
        }


def consent_form(
    journey: Journey,
    step: ConsentStep,
    locale: str,
    granted: set[str] | None = None,
    duration: str | None = None,
) -> ConsentForm:
    """A form with one unticked checkbox per consent item (ticked only if granted before);
    a step agreed by its button has checkboxes for its optional items only. Where the
    journey lets the customer choose how long to share, a choice of durations: the one
    chosen before, else the journey's default (never in Australia, where the customer
    must choose)."""

    class _Form(ConsentForm):
        pass

    categories = {item.key: journey.text(item.category, locale) for item in step.items}
    ticked = [item for item in step.items if step.ticked(item)]
    for item in ticked:
        label = _("I agree to share: %(category)s", category=categories[item.key])
        setattr(_Form, consent_field_name(item), BooleanField(label))
    data: dict[str, Any] = {consent_field_name(i): i.key in (granted or set()) for i in ticked}
    options = duration_options(journey, clock.now())
    if options:
        _Form.duration = RadioField(
            duration_question(journey),
            choices=[SelectChoice(value, label) for value, label in options],
            validate_choice=False,
        )
        offered = {value for value, _label in options}
        data["duration"] = duration if duration in offered else journey.policy.preselected_duration
    form = _Form(data=data)
    form.step = step
    form.categories = categories
    return form


class PlatformForm(JourneyForm):
    """Each platform is its own submit button named ``platform``: choosing is one press.
    The value is checked by AnyOf below, so a tampered one gets our message."""

    platform = StringField(_l("Your accounting software"))


def platform_form(available: list[Platform]) -> PlatformForm:
    form = PlatformForm()
    form.platform.validators = [
        InputRequired(message=_("Choose your accounting software to continue")),
        AnyOf(
            [p.key for p in available],
            message=_("That software can't be connected yet: choose one from the list"),
        ),
    ]
    return form


SOFTWARE_MAX_LENGTH = 100


def strip_text(value: Any) -> Any:
    """A form filter: text without the spaces around it (what a paste often brings)."""
    return value.strip() if isinstance(value, str) else value


def plain_text(message: Any) -> Callable[[Any, Field], None]:
    """A validator refusing control and invisible characters, with ``message``."""

    def check(form: Any, field: Field) -> None:
        if files.has_control_characters(field.data or ""):
            raise ValidationError(str(message))

    return check


class NotListedForm(JourneyForm):
    """The software step's "My software isn't listed": the customer names theirs."""

    software = StringField(
        _l("What software do you use?"),
        filters=[strip_text],
        validators=[
            DataRequired(message=_l("Write the name of the software you use")),
            Length(max=SOFTWARE_MAX_LENGTH, message=_l("Write at most %(max)d characters")),
            plain_text(_l("Write the name of your software in plain letters and numbers")),
        ],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    tell = SubmitField()


def not_listed_form(business: str, name: str | None) -> NotListedForm:
    """The form naming the customer's software (filled in with the name given before);
    its button tells ``business``."""
    form = NotListedForm(data={"software": name} if name else None)
    form.tell.label.text = _("Tell %(business)s", business=business)
    return form


FEEDBACK_RATINGS = (
    ("1", _l("Very hard")),
    ("2", _l("Hard")),
    ("3", _l("Neither easy nor hard")),
    ("4", _l("Easy")),
    ("5", _l("Very easy")),
)


class FeedbackForm(JourneyForm):
    """On the done and declined pages: how it went, in a rating and a line (optional)."""

    rating = RadioField(
        _l("How was this?"),
        choices=[SelectChoice(value, label) for value, label in FEEDBACK_RATINGS],
        validate_choice=False,
        validators=[
            InputRequired(message=_l("Choose how easy or hard this was")),
            AnyOf(
                [value for value, _label in FEEDBACK_RATINGS],
                message=_l("Choose how easy or hard this was"),
            ),
        ],
    )
    comment = StringField(
        _l("Anything you'd like to add? (optional)"),
        filters=[strip_text],
        validators=[
            Optional(),
            Length(max=FEEDBACK_COMMENT_MAX_LENGTH, message=_l("Write at most %(max)d characters")),
            plain_text(_l("Write your comment in plain text, on one line")),
        ],
        render_kw={"maxlength": FEEDBACK_COMMENT_MAX_LENGTH, "autocomplete": "off"},
    )
    send = SubmitField(_l("Send feedback"))


class StepForm(JourneyForm):
    """A journey's own ``form`` step: fields described in its YAML file."""

    submit = SubmitField(_l("Continue"))
    spec: FormStep

    def answers(self) -> dict[str, Any]:
        """Answers as JSON values: numbers as numbers, dates as ISO strings."""
        values: dict[str, Any] = {}
        for spec in self.spec.fields:
            value = self[spec.name].data
            if isinstance(value, date):
                value = value.isoformat()
            elif spec.type == "number" and value is not None:
                value = int(value) if value == value.to_integral_value() else float(value)
            elif isinstance(value, str):
                value = value.strip() or None
            values[spec.name] = value
        return values


def _field(spec: FormField, journey: Journey, locale: str) -> Field:
    def text(value: Any, default: str) -> str:
        return journey.text(value, locale) or default

    label = text(spec.label, spec.name)
    messages = spec.messages
    validators: list[Any] = []
    if spec.required:
        if spec.type in ("select", "radio"):
            standard = _("Choose an answer for “%(label)s”", label=label)
        else:
            standard = _("Enter an answer for “%(label)s”", label=label)
        required = text(messages.required, standard)
        # DataRequired refuses an answer of only spaces; a number 0 is an answer, though.
        validators.append(
            InputRequired(message=required)
            if spec.type == "number"
            else DataRequired(message=required)
        )
    else:
        validators.append(Optional())
    if spec.min_length is not None or spec.max_length is not None:
        validators.append(
            Length(
                min=spec.min_length if spec.min_length is not None else -1,
                max=spec.max_length if spec.max_length is not None else -1,
                message=text(messages.length, _length_message(label, spec)),
            )
        )
    if spec.pattern:
        validators.append(
            Regexp(
                spec.pattern,
                message=text(messages.pattern, _("Check the format of %(label)s", label=label)),
            )
        )
    invalid = text(messages.invalid, "")
    kwargs: dict[str, Any] = {"label": label, "validators": validators}
    if spec.type == "email":
        validators.append(
            Email(message=invalid or _("Enter an email address like name@example.com"))
        )
        return EmailField(**kwargs)
    if spec.type == "phone":
        validators.append(
            Regexp(PHONE_PATTERN, message=invalid or _("Enter a phone number, like 020 7946 0000"))
        )
        return TelField(**kwargs)
    if spec.type == "number":
        if spec.min is not None or spec.max is not None:
            validators.append(
                NumberRange(
                    min=spec.min,
                    max=spec.max,
                    message=text(messages.range, _range_message(label, spec)),
                )
            )
        return DecimalField(**kwargs, places=None, render_kw={"inputmode": "decimal"})
    if spec.type == "date":
        return DateField(**kwargs, format="%Y-%m-%d")
    if spec.type in ("select", "radio"):
        choices = [SelectChoice(o.value, journey.text(o.label, locale)) for o in spec.options]
        validators.append(
            AnyOf(
                [o.value for o in spec.options], message=invalid or _("Choose one of the options")
            )
        )
        if spec.type == "select":
            return SelectField(
                **kwargs, choices=[SelectChoice("", _("Choose…")), *choices], validate_choice=False
            )
        return RadioField(**kwargs, choices=choices, validate_choice=False)
    if spec.type == "checkbox":
        if spec.required:
            validators[0] = _Ticked(
                text(messages.required, _("Tick %(label)s to continue", label=label))
            )
        return BooleanField(**kwargs)
    return StringField(**kwargs)


class _Ticked:
    """InputRequired for a checkbox: it must be ticked."""

    def __init__(self, message: str):
        self.message = message
        self.field_flags = {"required": True}

    def __call__(self, form: Any, field: Field) -> None:
        if not field.data:
            raise ValidationError(self.message)


def _length_message(label: str, spec: FormField) -> str:
    if spec.min_length is not None and spec.max_length is not None:
        return _(
            "%(label)s must be %(min)s to %(max)s characters",
            label=label,
            min=spec.min_length,
            max=spec.max_length,
        )
    if spec.max_length is not None:
        return _("%(label)s must be %(max)s characters or fewer", label=label, max=spec.max_length)
    return _("%(label)s must be at least %(min)s characters", label=label, min=spec.min_length)


def _range_message(label: str, spec: FormField) -> str:
    def number(value: float | None) -> str:
        return f"{value:g}" if value is not None else ""

    if spec.min is not None and spec.max is not None:
        return _(
            "%(label)s must be between %(min)s and %(max)s",
            label=label,
            min=number(spec.min),
            max=number(spec.max),
        )
    if spec.max is not None:
        return _("%(label)s must be %(max)s or less", label=label, max=number(spec.max))
    return _("%(label)s must be %(min)s or more", label=label, min=number(spec.min))


def step_form(journey: Journey, step: FormStep, locale: str, answers: dict[str, Any]) -> StepForm:
    """The WTForms form for a ``form`` step, filled with earlier answers."""

    class _Form(StepForm):
        pass

    for spec in step.fields:
        setattr(_Form, spec.name, _field(spec, journey, locale))
    data = dict(answers)
    for spec in step.fields:
        if spec.type == "date" and isinstance(data.get(spec.name), str):
            data[spec.name] = date.fromisoformat(data[spec.name])
    form = _Form(data=data)
    form.spec = step
    return form


class OrganisationForm(JourneyForm):
    organisation = RadioField(
        _l("Which organisation do you want to connect?"), validate_choice=False
    )
    submit = SubmitField(_l("Connect this organisation"))


def organisation_form(candidates: list[dict[str, str]]) -> OrganisationForm:
    """Choose one of the organisations the platform returned."""
    form = OrganisationForm()
    form.organisation.choices = [SelectChoice(c["id"], c["name"]) for c in candidates]
    form.organisation.validators = [
        InputRequired(message=_("Choose the organisation to connect")),
        AnyOf([c["id"] for c in candidates], message=_("Choose one of the organisations listed")),
    ]
    return form


class UploadInsteadForm(JourneyForm):
    """Offered where connecting isn't possible: upload the accounts as files instead."""

    upload_instead = SubmitField(_l("Upload my accounts instead"))


class ConnectInsteadForm(JourneyForm):
    """On the fallback upload step: go back to connecting the software instead."""

    connect_instead = SubmitField(_l("Connect my software instead"))


# What each kind of file is called on the page, and the extensions the picker offers.
KIND_NAMES = {"pdf": "PDF", "csv": "CSV", "xlsx": "Excel (XLSX)"}
KIND_ACCEPT = {
    "pdf": ".pdf,application/pdf",
    "csv": ".csv,text/csv",
    "xlsx": ".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def kinds_text(step: UploadStep) -> str:
    return ", ".join(KIND_NAMES[kind] for kind in step.kinds)


class UploadForm(JourneyForm):
    """The upload step: one file picker taking several files at once."""

    files = MultipleFileField(_l("Your files"))
    upload = SubmitField(_l("Upload and continue"))

    def __init__(self, step: UploadStep, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.step = step
        self.checked: list[CheckedFile] = []
        self.files.render_kw = {
            "accept": ",".join(KIND_ACCEPT[kind] for kind in step.kinds),
            "multiple": True,
        }

    def validate_files(self, field: Field) -> None:
        """Every file checked by name, size and content; any one refused refuses them all
        (nothing is stored from a submission with a problem)."""
        step = self.step
        chosen = [f for f in field.data or [] if getattr(f, "filename", None)]
        if not chosen:
            raise ValidationError(_("Choose at least one file to upload"))
        if len(chosen) > step.max_files:
            if step.max_files == 1:
                raise ValidationError(_("Choose one file only"))
            raise ValidationError(
                _("Choose at most %(count)d files at a time", count=step.max_files)
            )
        problems: list[str] = []
        checked: list[CheckedFile] = []
        for storage in chosen:
            problem, file = _check_file(step, storage)
            if problem:
                problems.append(problem)
            elif file is not None:
                checked.append(file)
        if problems:
            field.errors.extend(problems[:-1])
            raise ValidationError(problems[-1])
        self.checked = checked


def _check_file(step: UploadStep, storage: Any) -> tuple[str | None, CheckedFile | None]:
    """A problem with one file, in the customer's words, or the file checked."""
    name = str(storage.filename)
    if files.unsafe_filename(name):
        return _("A file's name can't contain folders or special characters: rename it"), None
    kind = files.kind_by_name(name)
    if kind is None or kind not in step.kinds:
        return (
            _(
                "%(name)s is not a file we accept: choose %(kinds)s files",
                name=name,
                kinds=kinds_text(step),
            ),
            None,
        )
    data = storage.stream.read(step.max_file_bytes + 1)
    if not data:
        return _("%(name)s is empty: choose the file with your accounts in it", name=name), None
    if len(data) > step.max_file_bytes:
        return (
            _("%(name)s is larger than %(mb)d MB", name=name, mb=step.max_file_mb),
            None,
        )
    if not files.holds(kind, data):
        return (
            _(
                "What %(name)s holds is not %(kind)s: save it again as %(kind)s and upload that",
                name=name,
                kind=KIND_NAMES[kind],
            ),
            None,
        )
    return None, CheckedFile(name, kind, data)


DELEGATE_NAME_MAX_LENGTH = 100
EMAIL_MAX_LENGTH = 254


def role_choices() -> list[tuple[str, str]]:
    """Who the customer may ask, in the page's language."""
    return [
        ("accountant", _("My accountant")),
        ("bookkeeper", _("My bookkeeper")),
        ("other", _("Someone else I trust")),
    ]


class DelegateForm(JourneyForm):
    """'Ask my accountant to do this': who connects for the customer."""

    name = StringField(
        _l("Their name"),
        filters=[strip_text],
        validators=[
            DataRequired(message=_l("Enter the name of the person you're asking")),
            Length(max=DELEGATE_NAME_MAX_LENGTH, message=_l("Write at most %(max)d characters")),
            plain_text(_l("Write their name in plain letters")),
        ],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    email = EmailField(
        _l("Their email address"),
        filters=[strip_text],
        validators=[
            DataRequired(message=_l("Enter their email address")),
            Length(max=EMAIL_MAX_LENGTH, message=_l("Write at most %(max)d characters")),
            Email(message=_l("Enter an email address like name@example.com")),
        ],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    role = RadioField(
        _l("Who are they?"),
        validators=[InputRequired(message=_l("Choose who they are"))],
        # AnyOf (in delegate_form) refuses other values with a message of its own.
        validate_choice=False,
    )
    submit = SubmitField(_l("Create their link"))


def delegate_form() -> DelegateForm:
    form = DelegateForm()
    form.role.choices = role_choices()
    # A choice outside the list gets a specific message, not WTForms' generic one.
    form.role.validators = [
        InputRequired(message=_("Choose who they are")),
        AnyOf([key for key, _label in role_choices()], message=_("Choose who they are")),
    ]
    return form


class RevokeDelegationForm(JourneyForm):
    """Stop a delegated link (the customer's page, the connect step)."""

    delegation = HiddenField(validators=[DataRequired()])
    submit = SubmitField(_l("Cancel the request"))


class DelegatedConnectForm(JourneyForm):
    """The person asked goes on to the platform."""

    submit = SubmitField(_l("Continue"))

"""Filters of the consents ledger and the audit log, read from the query string."""

from __future__ import annotations

from datetime import date

from wtforms import DateField, Form, SelectChoice, SelectField, StringField
from wtforms.validators import AnyOf, Length, Optional, Regexp, ValidationError

from app.admin.keyset import ROW_ID, row_id
from app.consent.export import DECISIONS
from app.engine.schema import ID_PATTERN

DATE_MESSAGE = "Enter the date as YYYY-MM-DD, for example 2025-01-31."
PAGE_MESSAGE = "That page link is not one this list made: start again from its first page."


def _day(label: str) -> DateField:
    return DateField(label, validators=[Optional()], invalid_value_message=DATE_MESSAGE)


class Paged(Form):  # type: ignore[misc]
    """The ``before``/``after`` row ids of a keyset page (see admin.keyset), never shown."""

    before = StringField(validators=[Optional(), Regexp(ROW_ID, message=PAGE_MESSAGE)])
    after = StringField(validators=[Optional(), Regexp(ROW_ID, message=PAGE_MESSAGE)])

    def position(self) -> tuple[int | None, int | None]:
        """The page asked for; a value that did not validate names no page."""
        return (row_id(self.before.data), row_id(self.after.data))


class _DateRange(Paged):
    date_from = _day("From")
    date_to = _day("To (included)")

    def validate_date_to(self, field: DateField) -> None:
        start: date | None = self.date_from.data
        if start is not None and field.data is not None and field.data < start:
            raise ValidationError("The end date must be on or after the start date.")


class ConsentFilterForm(_DateRange):
    journey = SelectField("Journey", default="", validate_choice=False)
    item = StringField(
        "Consent item",
        render_kw={"list": "consent-item-keys"},
        validators=[
            Optional(),
            Regexp(
                ID_PATTERN,
                message="A consent item key starts with a lower-case letter and has at most "
                "64 lower-case letters, digits, - and _.",
            ),
        ],
    )
    decision = SelectField(
        "Decision",
        default="",
        choices=[
            SelectChoice("", "Any decision"),
            *(SelectChoice(d, d.capitalize()) for d in DECISIONS),
        ],
        validate_choice=False,
        validators=[AnyOf(["", *DECISIONS], message="Choose one of the decisions listed.")],
    )

    def __init__(self, journeys: list[str], **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.journey.choices = [
            SelectChoice("", "Any journey"),
            *(SelectChoice(j) for j in journeys),
        ]
        self.journey.validators = [
            AnyOf(["", *journeys], message="Choose one of the journeys listed.")
        ]


class AuditFilterForm(_DateRange):
    actor = StringField(
        "Actor",
        validators=[Length(max=320, message="Search for at most 320 characters.")],
    )
    action = StringField(
        "Action",
        validators=[Length(max=100, message="An action is at most 100 characters.")],
    )
    subject_type = StringField(
        "Subject type",
        validators=[Length(max=50, message="A subject type is at most 50 characters.")],
    )
    subject_id = StringField(
        "Subject id",
        validators=[Length(max=200, message="A subject id is at most 200 characters.")],
    )

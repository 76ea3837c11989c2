"""Forms of the customers area: the search box and the support actions."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    SearchField,
    SelectChoice,
    SelectField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import AnyOf, DataRequired, Length

from app.admin.filter_forms import Paged
from app.customers.standing import STATES, headings

NOTE_MAX = 5000


class SearchForm(Paged):
    """Read from the query string: a search is a GET that can be bookmarked."""

    q = SearchField(
        "Name, email or external id",
        validators=[Length(max=200, message="Search for at most 200 characters.")],
    )
    # Where the customers stand (the overview's figures link here with one).
    state = SelectField(
        "Show",
        default="",
        validate_choice=False,
        validators=[
            AnyOf(
                ["", *STATES],
                message="Choose one of the states listed: " + ", ".join(STATES) + ".",
            )
        ],
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.state.choices = [
            SelectChoice("", "All customers"),
            *(SelectChoice(key, label) for key, label in headings().items()),
        ]


class LinkForm(FlaskForm):  # type: ignore[misc]
    journey = SelectField("Journey", validate_choice=False)
    # Offered only when mail is configured: ``mail_to`` names the address (default on).
    email = BooleanField("Email it", default=True)
    single_use = BooleanField("Works once only (single use)")
    submit = SubmitField("Create link")

    def __init__(
        self, choices: list[tuple[str, str]], mail_to: str | None = None, **kwargs: object
    ) -> None:
        super().__init__(**kwargs)
        if mail_to is None:
            del self.email
        else:
            self.email.label.text = f"Email it to {mail_to}"
        self.journey.choices = [SelectChoice(value, label) for value, label in choices]
        self.journey.validators = [
            DataRequired("Choose the journey the link opens."),
            AnyOf([value for value, _ in choices], message="Choose one of the journeys listed."),
        ]


class NoteForm(FlaskForm):  # type: ignore[misc]
    body = TextAreaField(
        "Internal note",
        validators=[
            DataRequired("Write the note before adding it."),
            Length(max=NOTE_MAX, message=f"Keep the note under {NOTE_MAX:,} characters."),
        ],
    )
    submit = SubmitField("Add note")


class DisconnectForm(FlaskForm):  # type: ignore[misc]
    submit = SubmitField("Disconnect")


class ReconnectLinkForm(FlaskForm):  # type: ignore[misc]
    """A reconnect link for one connection: a button, with CSRF; ``email`` sends it."""

    email = BooleanField("Email it")


class LinkActionForm(FlaskForm):  # type: ignore[misc]
    """Revoke or reissue a kept link: a button, with CSRF."""

"""Forms of the customers area: the search box, adding a customer and the support actions."""

from __future__ import annotations

from collections.abc import Callable

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    SearchField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import AnyOf, DataRequired, Email, Length, Optional, ValidationError

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
    assigned = SelectField(
        "Assigned to",
        default="",
        choices=[
            SelectChoice("", "Anyone"),
            SelectChoice("me", "Me"),
            SelectChoice("nobody", "Nobody"),
        ],
        validate_choice=False,
        validators=[AnyOf(["", "me", "nobody"], message="Choose anyone, me or nobody.")],
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
    send_email = BooleanField("Email it", default=True)
    single_use = BooleanField("Works once only (single use)")
    submit = SubmitField("Create link")

    def __init__(
        self, choices: list[tuple[str, str]], mail_to: str | None = None, **kwargs: object
    ) -> None:
        super().__init__(**kwargs)
        if mail_to is None:
            del self.send_email
        else:
            self.send_email.label.text = f"Email it to {mail_to}"
        self.journey.choices = [SelectChoice(value, label) for value, label in choices]
        self.journey.validators = [
            DataRequired("Choose the journey the link opens."),
            AnyOf([value for value, _ in choices], message="Choose one of the journeys listed."),
        ]


class NewCustomerForm(LinkForm):
    """Add a customer, and create their first link (the journey comes from LinkForm)."""

    name = StringField(
        "Business name",
        validators=[
            DataRequired("Enter the customer's business name."),
            Length(max=200, message="Keep the name to 200 characters or fewer."),
        ],
    )
    email = EmailField(
        "Email address",
        validators=[
            DataRequired("Enter the customer's email address."),
            Length(max=320, message="Keep the email address to 320 characters or fewer."),
            Email("Enter an email address like name@example.com."),
        ],
    )
    external_id = StringField(
        "External id (optional)",
        validators=[
            Optional(),
            Length(max=200, message="Keep the external id to 200 characters or fewer."),
        ],
    )
    submit = SubmitField("Add customer and create link")

    def __init__(
        self,
        choices: list[tuple[str, str]],
        taken: Callable[[str], bool],
        can_email: bool = False,
        **kwargs: object,
    ) -> None:
        super().__init__(choices, "this address" if can_email else None, **kwargs)
        self._taken = taken

    def validate_external_id(self, field: StringField) -> None:
        if field.data and self._taken(field.data.strip()):
            raise ValidationError(
                "Another customer already has this external id: open that customer, "
                "or leave the field empty."
            )


class AssignForm(FlaskForm):  # type: ignore[misc]
    assignee = SelectField("Assigned to", validate_choice=False)
    submit = SubmitField("Save assignment")

    def __init__(self, colleagues: list[tuple[str, str]], **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.assignee.choices = [
            SelectChoice("", "Nobody"),
            *(SelectChoice(value, label) for value, label in colleagues),
        ]
        self.assignee.validators = [
            AnyOf(
                ["", *(value for value, _ in colleagues)],
                message="Choose one of the colleagues listed, or nobody.",
            )
        ]

    @property
    def user_id(self) -> int | None:
        return int(self.assignee.data) if self.assignee.data else None

    def chosen_label(self) -> str:
        """Who was chosen, as the list names them ("nobody" for nobody)."""
        if not self.assignee.data:
            return "nobody"
        return next(c.label for c in self.assignee.choices if c.value == self.assignee.data)


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

    send_email = BooleanField("Email it")


class LinkActionForm(FlaskForm):  # type: ignore[misc]
    """Revoke or reissue a kept link: a button, with CSRF."""

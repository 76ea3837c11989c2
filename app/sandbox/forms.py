"""The sandbox's forms: signing in as the test user, answering the consent screen, and on
the Connected apps page revoking an app's access or breaking it another way."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectChoice,
    SubmitField,
)
from wtforms.validators import (
    AnyOf,
    DataRequired,
    InputRequired,
    NumberRange,
    Optional,
    ValidationError,
)

from app.sandbox.data import ORGANISATIONS, check_login
from app.sandbox.dialects import DIALECTS


class SignInForm(FlaskForm):
    email = EmailField(
        "Email address",
        validators=[DataRequired(message="Enter the sandbox email address")],
        render_kw={"autocomplete": "username", "spellcheck": "false"},
    )
    password = PasswordField(
        "Password",
        validators=[DataRequired(message="Enter the sandbox password")],
        render_kw={"autocomplete": "current-password"},
    )
    sign_in = SubmitField("Sign in")

    def validate_password(self, field: PasswordField) -> None:
        if self.email.errors:
            return
        if not check_login(self.email.data or "", field.data or ""):
            raise ValidationError(
                "The email address or password is not right: use a test login shown"
            )


class ConsentForm(FlaskForm):
    # The signed-in user's own organisations: the view sets the choices.
    organisation = RadioField(
        "Choose an organisation",
        choices=[SelectChoice(org.id, org.name) for org in ORGANISATIONS],
        validators=[InputRequired(message="Choose the organisation to connect")],
    )
    # Scripting for testers: a slow platform, without changing any configuration.
    slow = BooleanField("Answer slowly")
    short_lived = BooleanField("Short-lived access")
    approve = SubmitField("Approve")
    deny = SubmitField("Deny")
    simulate_error = SubmitField("Simulate an error")


class SignOutForm(FlaskForm):
    sign_out = SubmitField("Sign out of the sandbox")


class RevokeForm(FlaskForm):
    """One per grant on the Connected apps page; the button names the organisation.

    Without a dialect, access to the organisation ends in every dialect."""

    organisation = HiddenField(
        validators=[
            InputRequired(message="Choose the organisation whose access to revoke"),
            AnyOf([org.id for org in ORGANISATIONS], message="No such organisation"),
        ]
    )
    dialect = HiddenField(
        validators=[Optional(), AnyOf(list(DIALECTS), message="No such platform")]
    )


class NotifyForm(FlaskForm):
    """Send a signed change notification about one grant's organisation."""

    organisation = HiddenField(
        validators=[
            InputRequired(message="Choose the organisation the notification is about"),
            AnyOf([org.id for org in ORGANISATIONS], message="No such organisation"),
        ]
    )
    dialect = HiddenField(
        validators=[
            InputRequired(message="Choose the platform that sends the notification"),
            AnyOf(
                [key for key, d in DIALECTS.items() if d.webhooks],
                message="That platform sends no change notifications",
            ),
        ]
    )
    notify = SubmitField("Send a change notification")


# Five years: as long as any vendor's approval lasts (Intuit's hard expiry).
MAX_EXPIRY_MINUTES = 5 * 365 * 24 * 60


class GrantChangeForm(FlaskForm):
    """Break one approval the way its platform can, to see the app notice: its refresh
    token expires (now, or in some minutes), its organisation is removed, or (where the
    platform sends the browser to the app's Disconnect URL) it is disconnected inside
    the platform."""

    grant = HiddenField(validators=[InputRequired(message="Choose the approval to change")])
    minutes = IntegerField(
        "Expire in how many minutes (0: now)",
        default=0,
        validators=[
            Optional(),
            NumberRange(
                min=0,
                max=MAX_EXPIRY_MINUTES,
                message="Enter a number of minutes from 0 to five years' worth",
            ),
        ],
    )
    expire = SubmitField("Expire the refresh token")
    remove = SubmitField("Remove this organisation")
    disconnect = SubmitField("Disconnect in the platform")

"""Admin console forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from app.admin.accounts import ROLE_LABELS, ROLES
from app.api.keys import SCOPES

SCOPE_LABELS = {
    "read": "read — look up customers, runs, consents and connections",
    "write": "write — create customers and links, withdraw consents, disconnect",
    "credentials": "credentials — fetch live access tokens (give this to the data pipeline only)",
    "files": "files — download the files customers uploaded (give this to the data pipeline only)",
}


class MultiCheckboxField(SelectMultipleField):  # type: ignore[misc]
    """Several choices as a list of checkboxes."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class LoginForm(FlaskForm):  # type: ignore[misc]
    email = EmailField(
        "Email address", validators=[DataRequired("Enter your email address."), Length(max=320)]
    )
    password = PasswordField(
        "Password", validators=[DataRequired("Enter your password."), Length(max=1000)]
    )
    submit = SubmitField("Sign in")


class RoleForm(FlaskForm):  # type: ignore[misc]
    role = SelectField(
        "Role",
        choices=[SelectChoice(role, ROLE_LABELS[role]) for role in ROLES],
        validators=[DataRequired("Choose a role.")],
    )
    submit = SubmitField("Change role")


OWN_CUSTOMERS_LABEL = "Sees only their own customers"
OWN_CUSTOMERS_HINT = (
    "For support, viewer and advisor colleagues: they see only the customers assigned to "
    "them, everywhere in the console. Admins and editors always see every customer."
)


class NewUserForm(RoleForm):
    email = EmailField(
        "Email address",
        validators=[DataRequired("Enter the colleague's email address."), Length(max=320)],
    )
    own_customers_only = BooleanField(OWN_CUSTOMERS_LABEL)
    submit = SubmitField("Create account")


class CustomerAccessForm(FlaskForm):  # type: ignore[misc]
    """A colleague's "sees only their own customers", changed on the Users page."""

    own_customers_only = BooleanField(OWN_CUSTOMERS_LABEL)
    submit = SubmitField("Save")


class ApiKeyForm(FlaskForm):  # type: ignore[misc]
    name = StringField(
        "What the key is for",
        validators=[DataRequired("Say what the key is for, e.g. loan backend."), Length(max=200)],
    )
    scopes = MultiCheckboxField(
        "Scopes",
        choices=[SelectChoice(scope, SCOPE_LABELS[scope]) for scope in SCOPES],
        validators=[DataRequired("Choose at least one scope.")],
    )
    submit = SubmitField("Create key")

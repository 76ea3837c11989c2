"""Admin console forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectChoice, SelectField, SubmitField
from wtforms.validators import DataRequired, Length

from app.admin.accounts import ROLE_LABELS, ROLES


class LoginForm(FlaskForm):  # type: ignore[misc]
    email = EmailField(
        "Email address", validators=[DataRequired("Enter your email address."), Length(max=320)]
    )
    password = PasswordField(
        "Password", validators=[DataRequired("Enter your password."), Length(max=1000)]
    )
    submit = SubmitField("Sign in")


class NewUserForm(FlaskForm):  # type: ignore[misc]
    email = EmailField(
        "Email address",
        validators=[DataRequired("Enter the colleague's email address."), Length(max=320)],
    )
    role = SelectField(
        "Role",
        choices=[SelectChoice(role, ROLE_LABELS[role]) for role in ROLES],
        validators=[DataRequired("Choose a role.")],
    )
    submit = SubmitField("Create account")


class RoleForm(FlaskForm):  # type: ignore[misc]
    role = SelectField(
        "Role",
        choices=[SelectChoice(role, ROLE_LABELS[role]) for role in ROLES],
        validators=[DataRequired("Choose a role.")],
    )
    submit = SubmitField("Change role")

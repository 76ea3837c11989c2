"""Admin console forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SubmitField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):  # type: ignore[misc]
    email = EmailField(
        "Email address", validators=[DataRequired("Enter your email address."), Length(max=320)]
    )
    password = PasswordField(
        "Password", validators=[DataRequired("Enter your password."), Length(max=1000)]
    )
    submit = SubmitField("Sign in")

"""The forms of the customer's own page; every one carries a CSRF token."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, SubmitField
from wtforms.validators import DataRequired, Email, Length

from app.journey.forms import strip_text


class WithdrawForm(FlaskForm):
    submit = SubmitField(_l("Withdraw consent"))


class DisconnectForm(FlaskForm):
    submit = SubmitField(_l("Disconnect"))


class ReconnectForm(FlaskForm):
    """One click starts repairing a broken connection at the software's sign-in."""

    submit = SubmitField(_l("Reconnect"))


class ReconfirmForm(FlaskForm):
    """One click keeps a consent going; the page renders one per consent that can."""

    submit = SubmitField(_l("Keep sharing"))


class FreshLinkForm(FlaskForm):
    email = EmailField(
        _l("Your email address"),
        filters=[strip_text],
        validators=[
            DataRequired(message=_l("Enter your email address")),
            Length(max=320, message=_l("Enter an email address of 320 characters or fewer")),
            Email(message=_l("Enter an email address like name@example.com")),
        ],
    )
    submit = SubmitField(_l("Email me a link"))

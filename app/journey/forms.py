"""The forms of the customer journey; every one carries a CSRF token."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SubmitField
from wtforms.validators import AnyOf, InputRequired

from app.connections.catalogue import Platform
from app.journey.definitions import ConsentItem, ConsentStep


class ContinueForm(FlaskForm):
    """A step with nothing to ask: welcome and instructions."""

    submit = SubmitField("Continue")


class ConnectForm(FlaskForm):
    submit = SubmitField("Connect")


class ReconsiderForm(FlaskForm):
    submit = SubmitField("Review what you're asked to share")


def consent_field_name(item: ConsentItem) -> str:
    return f"consent_{item.key}"


class ConsentForm(FlaskForm):
    agree = SubmitField("Agree and continue")
    decline = SubmitField("Decline and stop")

    step: ConsentStep

    @property
    def declining(self) -> bool:
        return bool(self.decline.data)

    def validate(self, extra_validators: Any = None) -> bool:
        if not super().validate(extra_validators):
            return False
        if self.declining:
            return True
        missing = [
            i for i in self.step.items if i.required and not self[consent_field_name(i)].data
        ]
        for item in missing:
            self[consent_field_name(item)].errors = [
                f"Tick “{item.category}” to continue, or choose Decline and stop"
            ]
        return not missing

    def granted(self) -> set[str]:
        return {i.key for i in self.step.items if self[consent_field_name(i)].data}


def consent_form(step: ConsentStep, granted: set[str] | None = None, **kwargs: Any) -> ConsentForm:
    """A form with one unticked checkbox per consent item (ticked only if granted before)."""

    class _Form(ConsentForm):
        pass

    for item in step.items:
        setattr(_Form, consent_field_name(item), BooleanField(f"I agree to share: {item.category}"))
    data = {consent_field_name(i): i.key in (granted or set()) for i in step.items}
    form = _Form(data=data, **kwargs)
    form.step = step
    return form


class PlatformForm(FlaskForm):
    # Choices are checked by AnyOf below, so the customer gets our message, not WTForms'.
    platform = RadioField("Your accounting software", validate_choice=False)
    submit = SubmitField("Continue")


def platform_form(
    available: list[Platform], chosen: str | None = None, **kwargs: Any
) -> PlatformForm:
    form = PlatformForm(data={"platform": chosen}, **kwargs)
    form.platform.choices = [(p.key, p.name) for p in available]
    form.platform.validators = [
        InputRequired(message="Choose your accounting software to continue"),
        AnyOf(
            [p.key for p in available],
            message="That software can't be connected yet: choose one from the list",
        ),
    ]
    return form

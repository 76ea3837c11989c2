"""Forms of the Journeys screens: a draft's YAML, and how to preview."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileSize
from wtforms import SelectField, SubmitField, TextAreaField
from wtforms.validators import Length

from app.engine.loading import MAX_YAML_CHARS


class DraftForm(FlaskForm):
    """A journey's YAML, typed or pasted, or a file that replaces it."""

    yaml_text = TextAreaField(
        "Journey YAML",
        validators=[
            Length(max=MAX_YAML_CHARS, message=f"Keep the YAML under {MAX_YAML_CHARS:,} characters")
        ],
        render_kw={"rows": 30, "spellcheck": "false", "autocapitalize": "off"},
    )
    upload = FileField(
        "Or upload a YAML file",
        validators=[
            FileAllowed(["yaml", "yml"], "Upload a .yaml or .yml file"),
            FileSize(MAX_YAML_CHARS, message="The file is too large for a journey"),
        ],
    )
    submit = SubmitField("Save draft")

    def text(self) -> str | None:
        """The YAML to save: the uploaded file's, else the text box's; None if unreadable."""
        if self.upload.data:
            try:
                return str(self.upload.data.read().decode("utf-8"))
            except UnicodeDecodeError:
                self.upload.errors = [*self.upload.errors, "The file is not UTF-8 text"]
                return None
        return self.yaml_text.data or ""


class ActionForm(FlaskForm):
    """A button that changes something: only its CSRF token to check."""


class PreviewForm(FlaskForm):
    locale = SelectField("Language", validate_choice=False)
    brand = SelectField("Branding", validate_choice=False)
    submit = SubmitField("Start the preview")

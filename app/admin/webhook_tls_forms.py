"""Forms of the webhook endpoints' mutual TLS page: a client certificate, a pinned CA.

Each PEM input can be pasted or uploaded as a file; the service checks what it holds.
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileSize
from wtforms import SubmitField, TextAreaField
from wtforms.validators import Length

PEM_MAX = 64_000


def _pem_text(label: Any) -> TextAreaField:
    return TextAreaField(
        label, validators=[Length(max=PEM_MAX, message=_l("Keep it under 64,000 characters."))]
    )


def _pem_file(label: Any) -> FileField:
    return FileField(
        label, validators=[FileSize(PEM_MAX, message=_l("The file is too large for a PEM file."))]
    )


def pem(text: TextAreaField, upload: FileField) -> str | None:
    """What was given for one PEM input: the uploaded file, else the pasted text."""
    if upload.data:
        return str(upload.data.read().decode("utf-8", errors="replace"))
    return str(text.data) if text.data and text.data.strip() else None


class ClientCertificateForm(FlaskForm):  # type: ignore[misc]
    certificate = _pem_text(_l("Client certificate (PEM)"))
    certificate_file = _pem_file(_l("Or upload the certificate file"))
    key = _pem_text(_l("Private key (PEM, without a passphrase)"))
    key_file = _pem_file(_l("Or upload the key file"))
    submit = SubmitField(_l("Present this certificate"))


class PinnedCAForm(FlaskForm):  # type: ignore[misc]
    ca = _pem_text(_l("CA certificates to trust (PEM)"))
    ca_file = _pem_file(_l("Or upload the CA file"))
    submit = SubmitField(_l("Pin this CA"))

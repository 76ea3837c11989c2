"""Mutual TLS for a webhook endpoint in the console: present a client certificate (upload,
rotate, remove) and pin the CA the receiver's certificate must chain to."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from werkzeug.wrappers import Response
from wtforms import TextAreaField

from app import audit
from app.admin import bp
from app.admin.guard import requires
from app.admin.webhook_tls_forms import ClientCertificateForm, PinnedCAForm, pem
from app.extensions import db
from app.models import WebhookEndpoint
from app.webhooks import endpoints, mutual_tls


def _endpoint_or_404(public_id: str) -> WebhookEndpoint:
    endpoint = endpoints.get_endpoint(public_id)
    if endpoint is None or endpoint.disabled_reason == "removed":
        abort(404)
    return endpoint


def _page(
    endpoint: WebhookEndpoint,
    status: int = 200,
    certificate_form: ClientCertificateForm | None = None,
    ca_form: PinnedCAForm | None = None,
    problem: str | None = None,
) -> Response:
    return make_response(
        render_template(
            "admin/webhooks/tls.html",
            endpoint=endpoint,
            tls=mutual_tls.describe(endpoint),
            certificate_form=certificate_form or ClientCertificateForm(prefix="certificate"),
            ca_form=ca_form or PinnedCAForm(prefix="ca"),
            problem=problem,
        ),
        status,
    )


def _apply(endpoint: WebhookEndpoint, done: str, **change: Any) -> Response:
    """Make the change (``mutual_tls.configure``), audit it and go back to the page."""
    described = mutual_tls.configure(endpoint, **change)
    audit.record(
        "user",
        current_user.email,
        "webhook_endpoint.tls",
        "webhook_endpoint",
        endpoint.public_id,
        None,
        {k: [c.fingerprint_sha256 for c in v] for k, v in described.items()},
    )
    db.session.commit()
    flash(done, "success")
    return redirect(url_for("admin.endpoint_tls", public_id=endpoint.public_id), 303)


def _refused(exc: endpoints.EndpointRefused) -> str:
    return _("This cannot be used: %(reason)s.", reason=exc.message)


@bp.route("/webhooks/endpoints/<public_id>/tls")
@requires("settings.read", every_customer=True)
def endpoint_tls(public_id: str) -> Response:
    return _page(_endpoint_or_404(public_id))


def _submitted(
    public_id: str, form: FlaskForm, done: str, **inputs: tuple[TextAreaField, FileField]
) -> Response:
    """Apply a posted PEM form; ``inputs`` maps each service field to its text and file."""
    endpoint = _endpoint_or_404(public_id)
    forms = {"certificate_form" if isinstance(form, ClientCertificateForm) else "ca_form": form}
    if not form.validate_on_submit():
        return _page(endpoint, 422, **forms)
    try:
        return _apply(endpoint, done, **{name: pem(*given) or "" for name, given in inputs.items()})
    except endpoints.EndpointRefused as exc:
        db.session.rollback()
        text = inputs[exc.field][0]
        text.errors = [*text.errors, _refused(exc)]
        return _page(endpoint, 422, **forms)


@bp.route("/webhooks/endpoints/<public_id>/tls/client-certificate", methods=["POST"])
@requires("webhooks.manage", every_customer=True)
def set_client_certificate(public_id: str) -> Response:
    form = ClientCertificateForm(prefix="certificate")
    return _submitted(
        public_id,
        form,
        _("The endpoint presents the new client certificate."),
        client_certificate=(form.certificate, form.certificate_file),
        client_key=(form.key, form.key_file),
    )


@bp.route("/webhooks/endpoints/<public_id>/tls/client-certificate/remove", methods=["POST"])
@requires("webhooks.manage", every_customer=True)
def remove_client_certificate(public_id: str) -> Response:
    return _apply(
        _endpoint_or_404(public_id),
        _("The endpoint no longer presents a client certificate."),
        remove_client_certificate=True,
    )


@bp.route("/webhooks/endpoints/<public_id>/tls/pinned-ca", methods=["POST"])
@requires("webhooks.manage", every_customer=True)
def pin_ca(public_id: str) -> Response:
    form = PinnedCAForm(prefix="ca")
    return _submitted(
        public_id,
        form,
        _("Only the pinned CA is trusted for this endpoint."),
        pinned_ca=(form.ca, form.ca_file),
    )


@bp.route("/webhooks/endpoints/<public_id>/tls/pinned-ca/clear", methods=["POST"])
@requires("webhooks.manage", every_customer=True)
def clear_pinned_ca(public_id: str) -> Response:
    return _apply(
        _endpoint_or_404(public_id),
        _("The system's CAs are trusted for this endpoint again."),
        clear_pinned_ca=True,
    )

"""A webhook endpoint's encryption key in the console: see its thumbprint, set, replace, remove."""

from __future__ import annotations

from flask import abort, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from app.admin import bp
from app.admin.guard import requires
from app.extensions import db
from app.models import WebhookEndpoint
from app.webhooks import encryption, endpoints


class PublicKeyForm(FlaskForm):  # type: ignore[misc]
    public_key = TextAreaField(
        _l("The receiver's public key (JWK or PEM)"),
        validators=[
            DataRequired(_l("Paste the receiver's public key.")),
            Length(
                max=encryption.MAX_KEY_CHARS,
                message=_l("A public key is at most %(max)d characters."),
            ),
        ],
        render_kw={"rows": 8, "spellcheck": "false", "autocomplete": "off"},
    )
    submit = SubmitField(_l("Save the key"))


def _endpoint_or_404(public_id: str) -> WebhookEndpoint:
    endpoint = endpoints.get_endpoint(public_id)
    if endpoint is None or endpoint.disabled_reason == "removed":
        abort(404)
    return endpoint


def _page(endpoint: WebhookEndpoint, form: PublicKeyForm, status: int = 200) -> Response:
    html = render_template(
        "admin/webhooks/encryption.html",
        endpoint=endpoint,
        key=encryption.receiver_key(endpoint),
        form=form,
    )
    return make_response(html, status)


@bp.route("/webhooks/endpoints/<public_id>/encryption")
@requires("settings.read", every_customer=True)
def webhook_encryption(public_id: str) -> Response:
    return _page(_endpoint_or_404(public_id), PublicKeyForm())


@bp.route("/webhooks/endpoints/<public_id>/encryption", methods=["POST"])
@requires("webhooks.manage", every_customer=True)
def set_webhook_encryption_key(public_id: str) -> Response:
    endpoint = _endpoint_or_404(public_id)
    form = PublicKeyForm()
    if not form.validate_on_submit():
        return _page(endpoint, form, 400)
    try:
        key = encryption.replace_key(endpoint, form.public_key.data, "user", current_user.email)
    except encryption.KeyRefused as refused:
        db.session.rollback()
        form.public_key.errors = [_("This key cannot be used: %(why)s.", why=refused.message)]
        form.public_key.data = ""  # never echo what was pasted: it may be a private key
        return _page(_endpoint_or_404(public_id), form, 400)
    db.session.commit()
    flash(_("Payloads are now encrypted to the key %(kid)s.", kid=key.kid), "success")
    return redirect(url_for("admin.webhook_encryption", public_id=public_id), 303)


@bp.route("/webhooks/endpoints/<public_id>/encryption/remove", methods=["POST"])
@requires("webhooks.manage", every_customer=True)
def remove_webhook_encryption_key(public_id: str) -> Response:
    endpoint = _endpoint_or_404(public_id)
    encryption.drop_key(endpoint, "user", current_user.email)
    db.session.commit()
    flash(_("Payloads are sent unencrypted (signed JSON) from the next attempt on."), "info")
    return redirect(url_for("admin.webhook_encryption", public_id=public_id), 303)

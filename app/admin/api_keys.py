"""API keys in the console (admins only): create (shown once) and revoke."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from app.admin import bp
from app.admin.forms import ApiKeyForm
from app.admin.guard import requires
from app.admin.nav import section
from app.api import keys

section("admin.api_keys", "API keys", permission="api_keys.manage", order=85)


def _page(form: ApiKeyForm | None = None, created: str | None = None) -> str:
    return render_template(
        "admin/api_keys/index.html",
        keys=keys.list_keys(),
        form=form or ApiKeyForm(),
        created=created,
    )


@bp.route("/api-keys")
@requires("api_keys.manage")
def api_keys() -> str:
    return _page()


@bp.route("/api-keys", methods=["POST"])
@requires("api_keys.manage")
def create_api_key() -> str:
    form = ApiKeyForm()
    if not form.validate_on_submit():
        return _page(form)
    _, key = keys.create_key(
        form.name.data or "", list(form.scopes.data or []), ("user", current_user.email)
    )
    # The key appears in this response only (admin pages are sent with no-store).
    return _page(created=key)


@bp.route("/api-keys/<prefix>/revoke", methods=["POST"])
@requires("api_keys.manage")
def revoke_api_key(prefix: str) -> Response:
    revoked = keys.revoke_key(prefix, ("user", current_user.email))
    if revoked is None:
        abort(404)
    flash(f"The key {prefix} is revoked: calls with it are refused from now on.", "success")
    return redirect(url_for("admin.api_keys"), 303)

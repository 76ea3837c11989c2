"""The audit log: every change made in the console, the API and the command line."""

from __future__ import annotations

from flask import make_response, render_template, request
from werkzeug.wrappers import Response

from app.admin import bp
from app.admin.audit_service import AuditFilter, audit_query
from app.admin.filter_forms import AuditFilterForm
from app.admin.guard import requires
from app.admin.keyset import newest_first
from app.admin.nav import section
from app.models import AuditEntry

section("admin.audit_log", "Audit log", permission="audit.read", order=90)


@bp.route("/audit")
@requires("audit.read")
def audit_log() -> Response:
    form = AuditFilterForm(request.args)
    window = None
    params: dict[str, str] = {}
    if form.validate():
        criteria = AuditFilter(
            actor=(form.actor.data or "").strip() or None,
            action=(form.action.data or "").strip() or None,
            subject_type=(form.subject_type.data or "").strip() or None,
            subject_id=(form.subject_id.data or "").strip() or None,
            occurred_from=form.date_from.data,
            occurred_to=form.date_to.data,
        )
        params = criteria.as_params()
        window = newest_first(audit_query(criteria), AuditEntry.id, *form.position())
    html = render_template("admin/audit/index.html", form=form, window=window, params=params)
    return make_response(html, 200 if window is not None else 400)

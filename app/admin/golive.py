"""The go-live checklist: what this installation still needs before real customers use it."""

from __future__ import annotations

from flask import render_template

from app.admin import bp
from app.admin.guard import requires
from app.admin.nav import section
from app.ops.certification import certification
from app.ops.readiness import readiness

section("admin.golive", "Go-live checklist", permission="settings.read", order=90)


@bp.route("/go-live")
@requires("settings.read", every_customer=True)
def golive() -> str:
    checks = readiness()
    return render_template(
        "admin/golive/index.html",
        checks=checks,
        ready=sum(1 for c in checks if c.ready),
        platforms=certification(),
    )

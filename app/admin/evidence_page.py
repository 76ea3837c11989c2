"""The security evidence pack in the console: printable, and as JSON (app/ops/evidence.py).

Admins only: it describes the installation's keys, accounts and open weaknesses.
"""

from __future__ import annotations

from flask import Response, render_template

from app.admin import bp
from app.admin.guard import requires
from app.admin.nav import section
from app.admin.privacy_map_page import download
from app.ops import evidence

PERMISSION = "audit.read"

section("admin.security_evidence", "Security evidence", permission=PERMISSION, order=95)


@bp.route("/security")
@requires(PERMISSION, every_customer=True)
def security_evidence() -> str:
    return render_template("admin/security/index.html", pack=evidence.build())


@bp.route("/security.json")
@requires(PERMISSION, every_customer=True)
def security_evidence_json() -> Response:
    return download(
        evidence.to_json(evidence.build()), "application/json", "security-evidence.json"
    )

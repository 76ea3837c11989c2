"""The consent ledger: every decision with its exact text, filtered, paged and exported.

Exports stream: CSV, or JSON Lines (one JSON object per line, so that a reader
can process a file of any size record by record).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from flask import make_response, render_template, request, stream_with_context
from flask_login import current_user
from werkzeug.wrappers import Response

from app import audit, clock
from app.admin import bp
from app.admin.filter_forms import ConsentFilterForm
from app.admin.guard import requires
from app.admin.keyset import newest_first
from app.admin.nav import section
from app.admin.scope import current_scope
from app.consent import chain, checkpoints, export
from app.extensions import db
from app.models import ConsentRecord

section("admin.consents", "Consents", order=30)

FORMATS: dict[str, tuple[str, Callable[[Iterable[dict[str, Any]]], Iterator[bytes]]]] = {
    "csv": ("text/csv; charset=utf-8", export.csv_chunks),
    "jsonl": ("application/x-ndjson; charset=utf-8", export.jsonl_chunks),
}


def _filters() -> tuple[ConsentFilterForm, export.LedgerFilter | None]:
    form = ConsentFilterForm(export.journey_ids(), formdata=request.args)
    if not form.validate():
        return form, None
    return form, export.LedgerFilter(
        journey_id=form.journey.data or None,
        item_key=form.item.data or None,
        decision=form.decision.data or None,
        recorded_from=form.date_from.data,
        recorded_to=form.date_to.data,
        # Only the records of customers the colleague may see, on the page and in exports.
        customer_ids=current_scope().customer_ids(),
    )


def _page(form: ConsentFilterForm, criteria: export.LedgerFilter | None) -> Response:
    window = None
    customers = {}
    if criteria is not None:
        window = newest_first(export.ledger_query(criteria), ConsentRecord.id, *form.position())
        customers = export.customers_by_id(r.customer_id for r in window.rows)
    html = render_template(
        "admin/consents/index.html",
        form=form,
        window=window,
        customers=customers,
        params=criteria.as_params() if criteria is not None else {},
        item_keys=export.item_keys(),
        head=chain.head(),
        checkpoint=checkpoints.latest_checkpoint(),
    )
    return make_response(html, 200 if criteria is not None else 400)


@bp.route("/consents")
@requires("read")
def consents() -> Response:
    return _page(*_filters())


@bp.route("/consents/export.csv", defaults={"fmt": "csv"})
@bp.route("/consents/export.jsonl", defaults={"fmt": "jsonl"})
@requires("read")
def export_consents(fmt: str) -> Response:
    form, criteria = _filters()
    if criteria is None:
        return _page(form, criteria)
    # Personal data leaves the console: who took which records is kept.
    audit.record(
        "user",
        current_user.email,
        "consents.export",
        "consent_ledger",
        None,
        None,
        {"format": fmt, "filters": criteria.as_params()},
    )
    db.session.commit()
    mimetype, chunks = FORMATS[fmt]
    stamp = clock.now().strftime("%Y%m%dT%H%M%SZ")
    response = Response(
        stream_with_context(chunks(export.export_records(criteria))), content_type=mimetype
    )
    response.headers["Content-Disposition"] = f'attachment; filename="consents-{stamp}.{fmt}"'
    response.headers["Cache-Control"] = "no-store"
    return response

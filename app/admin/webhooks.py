"""Webhooks in the console: endpoints, recent deliveries with every attempt, replay."""

from __future__ import annotations

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from app import audit, clock
from app.admin import bp
from app.admin.guard import requires
from app.admin.keyset import row_id
from app.admin.nav import section
from app.extensions import db
from app.models import WebhookDelivery, WebhookEndpoint
from app.webhooks import delivery as deliveries
from app.webhooks import endpoints, listing

section("admin.webhooks", "Webhooks", permission="settings.read", order=60)

PAGE_SIZE = 50
STATUSES = listing.STATUSES
FAILED_WORDS = {"hour": "with a failed attempt in the last hour"}


def _endpoint_or_404(public_id: str) -> WebhookEndpoint:
    endpoint = endpoints.get_endpoint(public_id)
    if endpoint is None:
        abort(404)
    return endpoint


def _problem(status: str, failed: str, endpoint_status: str) -> str | None:
    if status and status not in STATUSES:
        return f"Choose a delivery status among: {', '.join(STATUSES)}."
    if failed and failed not in listing.FAILED_WITHIN:
        return "The failed filter takes “hour”: deliveries with a failed attempt in the last hour."
    if endpoint_status and endpoint_status not in listing.ENDPOINT_STATUSES:
        return f"Choose an endpoint status among: {', '.join(listing.ENDPOINT_STATUSES)}."
    return None


@bp.route("/webhooks")
@requires("settings.read", every_customer=True)
def webhooks() -> Response:
    status = request.args.get("status", "")
    endpoint_id = request.args.get("to", "")
    failed = request.args.get("failed", "")
    endpoint_status = request.args.get("endpoints", "")
    before = row_id(request.args.get("before"))
    problem = _problem(status, failed, endpoint_status)
    rows: list[WebhookDelivery] = []
    listed: list[WebhookEndpoint] = []
    more = False
    if problem is None:
        since = clock.now() - listing.FAILED_WITHIN[failed] if failed else None
        query = (
            listing.deliveries(status, endpoint_id, since)
            .options(
                selectinload(WebhookDelivery.attempts_made),
                selectinload(WebhookDelivery.event),
                selectinload(WebhookDelivery.endpoint),
            )
            .order_by(WebhookDelivery.id.desc())
            .limit(PAGE_SIZE + 1)
        )
        if before:
            query = query.where(WebhookDelivery.id < before)
        rows = list(db.session.scalars(query))
        more = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        listed = list(db.session.scalars(listing.endpoints(endpoint_status or None)))
    html = render_template(
        "admin/webhooks/index.html",
        endpoints=[(e, endpoints.pending_count(e)) for e in listed],
        deliveries=rows,
        statuses=STATUSES,
        status=status,
        endpoint_id=endpoint_id,
        failed=failed,
        failed_words=FAILED_WORDS.get(failed),
        endpoint_status=endpoint_status,
        problem=problem,
        next_before=rows[-1].id if more and rows else None,
    )
    return make_response(html, 400 if problem else 200)


@bp.route("/webhooks/deliveries/<public_id>/replay", methods=["POST"])
@requires("webhooks.manage", every_customer=True)
def replay_delivery(public_id: str) -> Response:
    found = deliveries.find_delivery(public_id)
    if found is None:
        abort(404)
    before = {"status": found.status, "attempts": found.attempts}
    try:
        deliveries.replay(found)
    except deliveries.ReplayRefused as refused:
        flash(f"That delivery cannot be sent again: {refused}.", "error")
        return redirect(url_for("admin.webhooks"), 303)
    audit.record(
        "user",
        current_user.email,
        "webhook.replay",
        "webhook_delivery",
        public_id,
        before,
        {"status": "pending", "attempts": 0},
    )
    db.session.commit()
    flash("The delivery is queued again; the worker sends it within seconds.", "success")
    return redirect(url_for("admin.webhooks"), 303)


@bp.route("/webhooks/endpoints/<public_id>/test", methods=["POST"])
@requires("webhooks.manage", every_customer=True)
def test_endpoint(public_id: str) -> Response:
    endpoint = _endpoint_or_404(public_id)
    response = deliveries.send_test(endpoint, "user", current_user.email)
    code = response.status_code
    if code is not None and 200 <= code < 300:
        flash(f"The endpoint accepted a signed test event (HTTP {code}).", "success")
    else:
        problem = response.error or f"HTTP {code}"
        flash(f"The endpoint did not accept the test event: {problem}.", "error")
    return redirect(url_for("admin.webhooks"), 303)


@bp.route("/webhooks/endpoints/<public_id>/enable", methods=["POST"])
@requires("webhooks.manage", every_customer=True)
def enable_endpoint(public_id: str) -> Response:
    endpoint = _endpoint_or_404(public_id)
    before = {"status": endpoint.status, "disabled_reason": endpoint.disabled_reason}
    endpoints.enable_endpoint(endpoint)
    audit.record(
        "user",
        current_user.email,
        "webhook_endpoint.enable",
        "webhook_endpoint",
        public_id,
        before,
        {"status": "enabled"},
    )
    db.session.commit()
    flash(f"{endpoint.url} is enabled.", "success")
    return redirect(url_for("admin.webhooks"), 303)


@bp.route("/webhooks/endpoints/<public_id>/disable", methods=["POST"])
@requires("webhooks.manage", every_customer=True)
def disable_endpoint(public_id: str) -> Response:
    endpoint = _endpoint_or_404(public_id)
    cancelled = endpoints.disable_endpoint(endpoint, f"disabled by {current_user.email}")
    audit.record(
        "user",
        current_user.email,
        "webhook_endpoint.disable",
        "webhook_endpoint",
        public_id,
        {"status": "enabled"},
        {"status": "disabled", "cancelled_deliveries": cancelled},
    )
    db.session.commit()
    flash(f"{endpoint.url} is disabled; {cancelled} waiting deliveries were cancelled.", "info")
    return redirect(url_for("admin.webhooks"), 303)

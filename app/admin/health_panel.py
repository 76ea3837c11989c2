"""The figures on the console's overview: where customers stand, and whether Onramp is
working right now. Every figure links to the list behind it, made by the same query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import url_for
from sqlalchemy import select

from app.admin.accounts import FAILED_SIGN_IN
from app.admin.audit_service import AuditFilter, audit_query
from app.admin.scope import visible
from app.customers import standing
from app.models import Customer
from app.ops.status import health
from app.queries import count_rows


@dataclass(frozen=True)
class Figure:
    label: str
    value: int
    # The list of exactly these rows.
    href: str


def format_age(age: timedelta | None) -> str:
    """How long something has waited, roughly: "45 s", "12 min", "3 h 5 min", "2 d 4 h"."""
    if age is None:
        return "none waiting"
    seconds = int(age.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h {minutes % 60} min"
    return f"{minutes // (24 * 60)} d {minutes % (24 * 60) // 60} h"


def customer_figures(now: datetime) -> list[Figure]:
    """What a support colleague acts on, each linking to the customers list it counts."""
    labels = {
        "stuck": f"Stuck: no progress for more than {standing.stuck_words()}",
        "waiting": "Waiting on someone they asked",
        "needs-repair": "With a connection needing repair",
        "started-today": "Started a journey today (UTC)",
        "completed-today": "Completed a journey today (UTC)",
    }
    return [_customers_in(state, label, now) for state, label in labels.items()]


def _customers_in(state: str, label: str, now: datetime) -> Figure:
    """How many of the customers this colleague may see are in ``state``: the rows of the
    customers list the figure links to (the same query, the same scope)."""
    in_state = visible(standing.narrow(select(Customer), state, now))
    return Figure(label, count_rows(in_state), url_for("admin.customers", state=state))


def failed_sign_ins_today(now: datetime) -> Figure:
    """Refused sign-ins to the console since midnight UTC, from the audit log."""
    criteria = AuditFilter(action=FAILED_SIGN_IN, occurred_from=now.astimezone(UTC).date())
    params: dict[str, Any] = criteria.as_params()
    return Figure(
        "Failed admin sign-ins today (UTC)",
        count_rows(audit_query(criteria)),
        url_for("admin.audit_log", **params),
    )


def health_panel() -> dict[str, Any]:
    """What templates/admin/dashboard.html and _health.html need."""
    checked = health()
    readable = checked.counts is not None
    return {
        "health": checked,
        "age": format_age,
        "customer_figures": customer_figures(checked.checked_at) if readable else None,
        "failed_sign_ins_today": failed_sign_ins_today(checked.checked_at) if readable else None,
        "failed_connections": (
            _customers_in(
                "failed-last-hour",
                "Customers whose connection failed, last hour",
                checked.checked_at,
            )
            if readable
            else None
        ),
    }

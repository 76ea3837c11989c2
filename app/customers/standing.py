"""Where customers stand, as the console's overview counts them and its lists filter them.

One query per state serves both the figure on the overview and the customers list it
links to, so that the number and the list always agree.

- **stuck**: their latest journey is in progress and has not moved for longer than
  ``CUSTOMER_STUCK_AFTER_SECONDS``, and nobody they asked is on it;
- **waiting**: someone they asked (their accountant, say) has a link that still works;
- **needs-repair**: a connection that broke after it linked (``deauthorized``);
- **failed-last-hour**: an attempt to connect failed in the last hour;
- **started-today** / **completed-today**: a journey started / completed since
  midnight UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, Select, and_, func, select

from app import clock
from app.models import Connection, Customer, Delegation, JourneyRun, OutboxEvent
from app.queries import count_rows

STATES = (
    "stuck",
    "waiting",
    "needs-repair",
    "failed-last-hour",
    "started-today",
    "completed-today",
)


def stuck_after() -> timedelta:
    """How long an unfinished journey may sit still before its customer counts as stuck."""
    return timedelta(seconds=int(current_app.config["CUSTOMER_STUCK_AFTER_SECONDS"]))


def stuck_words() -> str:
    """The threshold in words: "24 h", "90 min", "3 d"."""
    seconds = int(stuck_after().total_seconds())
    if seconds % 86400 == 0 and seconds >= 86400 * 2:
        return f"{seconds // 86400} d"
    if seconds % 3600 == 0 and seconds >= 3600:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0 and seconds >= 60:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def headings() -> dict[str, str]:
    """What a list of customers in each state is called."""
    return {
        "stuck": f"Customers stuck for more than {stuck_words()}",
        "waiting": "Customers waiting on someone they asked",
        "needs-repair": "Customers with a connection to repair",
        "failed-last-hour": "Customers whose connection failed in the last hour",
        "started-today": "Customers who started a journey today (UTC)",
        "completed-today": "Customers who completed a journey today (UTC)",
    }


def _midnight(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def open_delegation(now: datetime) -> ColumnElement[bool]:
    """A delegated link that still works (see connections.delegation.is_open)."""
    return and_(
        Delegation.completed_at.is_(None),
        Delegation.revoked_at.is_(None),
        Delegation.expires_at > now,
    )


def _customer_ids(state: str, now: datetime) -> Select[Any]:
    if state == "stuck":
        latest = select(func.max(JourneyRun.id)).group_by(JourneyRun.customer_id).scalar_subquery()
        asked = select(Delegation.run_id).where(open_delegation(now))
        return select(JourneyRun.customer_id).where(
            JourneyRun.id.in_(latest),
            JourneyRun.status == "active",
            JourneyRun.updated_at < now - stuck_after(),
            JourneyRun.id.not_in(asked),
        )
    if state == "waiting":
        return (
            select(Delegation.customer_id)
            .join(JourneyRun, JourneyRun.id == Delegation.run_id)
            .where(open_delegation(now), JourneyRun.status == "active")
        )
    if state == "needs-repair":
        return select(Connection.customer_id).where(Connection.status == "deauthorized")
    if state == "failed-last-hour":
        return select(OutboxEvent.customer_id).where(
            OutboxEvent.type == "connection.failed",
            OutboxEvent.occurred_at >= now - timedelta(hours=1),
        )
    if state == "started-today":
        return select(JourneyRun.customer_id).where(JourneyRun.created_at >= _midnight(now))
    if state == "completed-today":
        return select(JourneyRun.customer_id).where(JourneyRun.completed_at >= _midnight(now))
    raise ValueError(f"unknown customer state {state!r}")


def narrow(query: Select[Any], state: str, now: datetime | None = None) -> Select[Any]:
    """``query`` (a select of customers) kept to the customers in ``state``."""
    return query.where(Customer.id.in_(_customer_ids(state, now or clock.now())))


def count(state: str, now: datetime | None = None) -> int:
    """How many customers are in ``state``: the rows ``narrow`` lists."""
    return count_rows(narrow(select(Customer), state, now))


def figures(now: datetime | None = None) -> dict[str, int]:
    """Every state's count, for the overview (one query per state)."""
    now = now or clock.now()
    return {state: count(state, now) for state in STATES}

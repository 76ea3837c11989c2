"""The health panel on the console's overview: reachability, backlog and failures right now."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from app.ops.status import health


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


def health_panel() -> dict[str, Any]:
    """What templates/admin/_health.html needs."""
    return {"health": health(), "age": format_age}

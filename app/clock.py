"""The one clock Onramp reads the time from.

Every timestamp (a record's creation, a link's or a consent's expiry, a throttle's wait)
comes from :func:`now`, so a test moves time for the whole app at once with :func:`set_now`
(tests' ``clock`` fixture) instead of patching a module at a time.
"""

from __future__ import annotations

from datetime import UTC, datetime

_set_to: datetime | None = None


def now() -> datetime:
    """The current time, timezone-aware in UTC (or the time a test set)."""
    return _set_to if _set_to is not None else datetime.now(UTC)


def set_now(moment: datetime | None) -> None:
    """Hold the clock at ``moment`` (aware, UTC); ``None`` lets it run again. For tests."""
    if moment is not None and moment.utcoffset() is None:
        raise ValueError("the clock keeps aware UTC times")
    global _set_to
    _set_to = moment

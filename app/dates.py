"""Dates as customers read them: one format, in their language, wherever a date is shown.

A date is the locale's "long" date ("12 March 2025", "12 mars 2025", "12. März 2025");
where a time matters it follows in the locale's short form with its time zone. Templates
use the ``when`` filter; code that writes a date into a sentence calls :func:`when`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from babel import Locale
from babel.dates import get_datetime_format
from flask_babel import format_date, format_time, get_locale


def when(moment: datetime | int | None, time: bool = False) -> str:
    """``moment`` (aware or UTC, or a Unix timestamp) as the current locale writes it."""
    if moment is None:
        return ""
    if isinstance(moment, int):
        moment = datetime.fromtimestamp(moment, tz=UTC)
    day = format_date(moment, "long")
    if not time:
        return day
    locale = get_locale() or Locale.parse("en")
    clock_time = format_time(moment, locale.time_formats["short"].pattern + " z")
    return str(get_datetime_format("long", locale=locale)).format(clock_time, day)

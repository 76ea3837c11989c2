"""The funnel: how far customers get on each journey, drawn on the server as SVG."""

from __future__ import annotations

from datetime import date, timedelta

from flask import current_app, render_template, request
from wtforms import DateField, Form, SelectField
from wtforms.validators import DataRequired, ValidationError

from app import clock
from app.admin import bp
from app.admin.funnel_chart import funnel_chart
from app.admin.guard import requires
from app.admin.nav import section
from app.analytics.feedback_by_version import RATINGS, feedback_figures
from app.analytics.funnel import (
    CONNECTION_STATUSES,
    DEFAULT_DAYS,
    Period,
    VersionChoice,
    by_version,
    funnel,
    journey_ids,
    versions_of,
)

section("admin.funnel", "Funnel", order=40)

ALL_VERSIONS = ""
# The labels customers chose from on the done and declined pages.
RATING_WORDS = {1: "Very hard", 2: "Hard", 3: "Neither easy nor hard", 4: "Easy", 5: "Very easy"}
# The earliest day a period may start and how far ahead it may end.
EARLIEST = date(2000, 1, 1)
LATEST_AHEAD = timedelta(days=366)


class FunnelFilter(Form):  # type: ignore[misc]
    """Read from the query string: a GET form that changes nothing needs no CSRF token."""

    journey = SelectField("Journey", validate_choice=False)
    version = SelectField("Version", validate_choice=False)
    # DataRequired also replaces the "Not a valid date value" of a date that is not one.
    first = DateField("From", validators=[DataRequired("Enter the first day, as YYYY-MM-DD.")])
    last = DateField("To", validators=[DataRequired("Enter the last day, as YYYY-MM-DD.")])

    def validate_journey(self, field: SelectField) -> None:
        if field.data not in dict(field.choices):
            raise ValidationError("Choose one of the journeys listed.")

    def validate_version(self, field: SelectField) -> None:
        if field.data not in dict(field.choices):
            raise ValidationError("Choose a version of this journey, or all versions.")

    def validate_first(self, field: DateField) -> None:
        if field.data is not None and field.data < EARLIEST:
            raise ValidationError(f"Choose a day from {EARLIEST.isoformat()} on.")

    def validate_last(self, field: DateField) -> None:
        if field.data is None:
            return
        if field.data > clock.now().date() + LATEST_AHEAD:
            raise ValidationError("Choose a last day no more than a year from today.")
        if self.first.data is not None and field.data < self.first.data:
            raise ValidationError("The last day must be on or after the first day.")


def version_label(choice: VersionChoice) -> str:
    label = f"{choice.version[:12]}"
    if choice.created_at is not None:
        label += f", first used {choice.created_at:%Y-%m-%d}"
    return label + (" (current)" if choice.current else "")


def format_duration(ms: int | None) -> str:
    """A median step time in words a colleague reads at a glance: "1.5 s", "2 min 5 s"."""
    if ms is None:
        return "—"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    seconds = round(ms / 1000)
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    minutes = round(seconds / 60)
    if minutes < 48 * 60:
        return f"{minutes // 60} h {minutes % 60} min"
    return f"{minutes // (24 * 60)} d {minutes % (24 * 60) // 60} h"


def format_share(share: float | None) -> str:
    return "—" if share is None else f"{share:.0%}"


def format_average(average: float | None) -> str:
    return "—" if average is None else f"{average:.1f} of 5"


def _filter() -> FunnelFilter:
    journeys = journey_ids()
    default_journey = current_app.config["DEFAULT_JOURNEY"]
    period = Period.last_days(DEFAULT_DAYS)
    form = FunnelFilter(
        request.args or None,
        journey=default_journey if default_journey in journeys else next(iter(journeys), ""),
        version=ALL_VERSIONS,
        first=period.first,
        last=period.last,
    )
    form.journey.choices = [(j, j) for j in journeys]
    versions = versions_of(form.journey.data) if form.journey.data in journeys else []
    form.version.choices = [(ALL_VERSIONS, "All versions")] + [
        (v.version, version_label(v)) for v in versions
    ]
    return form


@bp.route("/funnel", endpoint="funnel")
@requires("read", every_customer=True)
def funnel_page() -> tuple[str, int]:
    form = _filter()
    if not form.validate():
        return render_template("admin/funnel/index.html", form=form, funnel=None), 400
    period = Period(form.first.data, form.last.data)
    figures = funnel(form.journey.data, form.version.data or None, period)
    return render_template(
        "admin/funnel/index.html",
        form=form,
        funnel=figures,
        versions=by_version(form.journey.data, period),
        feedback=feedback_figures(form.journey.data, form.version.data or None, period),
        ratings=RATINGS,
        rating_words=RATING_WORDS,
        chart=funnel_chart(figures.steps),
        duration=format_duration,
        share=format_share,
        average=format_average,
        statuses=CONNECTION_STATUSES,
    ), 200

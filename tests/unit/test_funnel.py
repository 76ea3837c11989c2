"""The funnel's pure parts: step order across versions, periods, the chart, the wording."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from app.admin.funnel_chart import LABEL_ROOM, WIDTH, funnel_chart
from app.admin.funnel_page import format_duration, format_share
from app.admin.health_panel import format_age
from app.analytics.funnel import Period, StepFigures, step_order
from app.engine.loading import parse_journey
from app.engine.schema import Journey


def _journey(*step_ids: str) -> Journey:
    steps: list[dict[str, Any]] = [
        {"id": step_id, "type": "welcome", "title": step_id.title()} for step_id in step_ids
    ]
    steps.append({"id": "done", "type": "done", "title": "Done"})
    data = {"id": "j", "name": "J", "business": {"name": "B", "purpose": "p"}, "steps": steps}
    return parse_journey(data, Path("j.yaml"))


def test_the_step_order_follows_the_current_version() -> None:
    assert [s for s, _ in step_order([_journey("a", "b", "c")])] == ["a", "b", "c", "done"]


def test_steps_only_an_older_version_had_follow_the_step_they_followed_there() -> None:
    current = _journey("welcome", "consent", "connect")
    older = _journey("intro", "welcome", "survey", "connect")
    order = step_order([current, older])
    assert [s for s, _ in order] == ["intro", "welcome", "survey", "consent", "connect", "done"]
    assert dict(order)["survey"] == "Survey"


def test_a_period_covers_whole_utc_days() -> None:
    period = Period(date(2026, 3, 1), date(2026, 3, 31))
    assert period.starts == datetime(2026, 3, 1, tzinfo=UTC)
    assert period.ends == datetime(2026, 4, 1, tzinfo=UTC)
    assert Period.last_days(30, today=date(2026, 3, 30)) == Period(
        date(2026, 3, 1), date(2026, 3, 30)
    )


def _step(step_id: str, reached: int, completed: int, title: str | None = None) -> StepFigures:
    return StepFigures(step_id, title or step_id, reached, completed, None, None, 0, None)


def test_bars_share_one_scale_and_are_labelled_in_words() -> None:
    chart = funnel_chart([_step("a", 10, 8), _step("b", 5, 0)])
    first, second = chart.rows
    assert first.reached.width == WIDTH - LABEL_ROOM
    assert first.completed.width == pytest.approx((WIDTH - LABEL_ROOM) * 0.8)
    assert second.reached.width == pytest.approx((WIDTH - LABEL_ROOM) / 2)
    assert (second.completed.width, second.completed.label) == (0, "0 completed")
    assert first.reached.label == "10 reached"
    # Rows never overlap, and the picture is as tall as its rows.
    assert second.title_y > first.completed.y + chart.bar_height
    assert chart.height >= second.completed.y + chart.bar_height


def test_a_chart_of_zeros_draws_no_bars() -> None:
    chart = funnel_chart([_step("a", 0, 0)])
    assert [r.reached.width for r in chart.rows] == [0]


def test_long_step_titles_are_shortened_in_the_chart_only() -> None:
    title = "A very long step title " * 8
    row = funnel_chart([_step("a", 1, 1, title)]).rows[0]
    assert len(row.title) == 90 and row.title.endswith("…")
    assert row.full_title == title


@pytest.mark.parametrize(
    ("ms", "words"),
    [
        (None, "—"),
        (0, "0.0 s"),
        (1500, "1.5 s"),
        (59_949, "59.9 s"),
        (125_000, "2 min 5 s"),
        (3_600_000, "1 h 0 min"),
        (3 * 86_400_000 + 7_200_000, "3 d 2 h"),
    ],
)
def test_durations_read_at_a_glance(ms: int | None, words: str) -> None:
    assert format_duration(ms) == words


@pytest.mark.parametrize(
    ("share", "words"), [(None, "—"), (0.0, "0%"), (2 / 3, "67%"), (1, "100%")]
)
def test_shares_are_whole_percentages(share: float | None, words: str) -> None:
    assert format_share(share) == words


@pytest.mark.parametrize(
    ("age", "words"),
    [
        (None, "none waiting"),
        (timedelta(seconds=45), "45 s"),
        (timedelta(minutes=12, seconds=59), "12 min"),
        (timedelta(hours=3, minutes=5), "3 h 5 min"),
        (timedelta(days=2, hours=4), "2 d 4 h"),
    ],
)
def test_waiting_ages_read_at_a_glance(age: timedelta | None, words: str) -> None:
    assert format_age(age) == words

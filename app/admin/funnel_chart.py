"""The geometry of the funnel chart, drawn as SVG by templates/admin/funnel/_chart.html.

Each step is a row: its title, then a bar for the runs that reached it and one for the
runs that completed it, both on the same scale, each labelled with its number in words
so that colour is never the only cue.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.analytics.funnel import StepFigures

WIDTH = 720
# Room kept right of the longest bar for its label ("1234 completed").
LABEL_ROOM = 130
BAR_HEIGHT = 18
ROW_HEIGHT = 72
TOP = 8
TITLE_CHARACTERS = 90


@dataclass(frozen=True)
class Bar:
    y: int
    width: float
    value: int
    label: str

    @property
    def label_x(self) -> float:
        return self.width + 6


@dataclass(frozen=True)
class Row:
    step_id: str
    title: str
    full_title: str
    title_y: int
    reached: Bar
    completed: Bar


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bar_height: int
    rows: list[Row]


def _shorten(text: str, limit: int = TITLE_CHARACTERS) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def funnel_chart(steps: list[StepFigures]) -> Chart:
    """Bars scaled to the step most runs reached (a chart of zeros draws no bars)."""
    most = max((s.reached for s in steps), default=0)
    scale = (WIDTH - LABEL_ROOM) / most if most else 0.0
    rows = []
    for i, step in enumerate(steps):
        top = TOP + i * ROW_HEIGHT
        rows.append(
            Row(
                step_id=step.step_id,
                title=_shorten(step.title),
                full_title=step.title,
                title_y=top + 14,
                reached=Bar(
                    top + 22, step.reached * scale, step.reached, f"{step.reached} reached"
                ),
                completed=Bar(
                    top + 22 + BAR_HEIGHT + 4,
                    step.completed * scale,
                    step.completed,
                    f"{step.completed} completed",
                ),
            )
        )
    return Chart(WIDTH, TOP * 2 + ROW_HEIGHT * len(steps), BAR_HEIGHT, rows)

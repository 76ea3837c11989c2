"""The funnel counts exactly the runs seeded here: reached, completed, medians, drop-off."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from html import unescape
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.analytics.funnel import Funnel, Period, VersionFigures, by_version, funnel
from app.customers.records import create_customer
from app.engine.registry import get_journey
from app.extensions import db
from app.links import journey_link
from app.models import Connection, Customer, JourneyEvent, JourneyRun, JourneyVersion
from app.ops import readiness
from tests.admin import signed_in_as
from tests.integration.conftest import LiveSandbox

MARCH = Period(date(2026, 3, 1), date(2026, 3, 31))
OLD = "0ld" + "0" * 61


@dataclass
class Seed:
    """One run: when it started, its events (step, kind, duration ms, detail), its attempts."""

    started: datetime
    events: list[tuple[str, str, int | None, str | None]]
    status: str = "active"
    platform: str | None = None
    attempts: list[tuple[str, str, str | None]] = field(default_factory=list)
    version: str | None = None
    # Attempts linked once and then disconnected (platform).
    disconnected: list[str] = field(default_factory=list)


def _walk(*steps: tuple[str, int]) -> list[tuple[str, str, int | None, str | None]]:
    """Each step entered and then completed in ``duration`` ms."""
    events: list[tuple[str, str, int | None, str | None]] = []
    for step, duration in steps:
        events += [(step, "entered", None, None), (step, "completed", duration, None)]
    return events


def _plant(app: Flask, seeds: list[Seed]) -> None:
    with app.app_context():
        journey = get_journey("default")
        assert journey is not None
        for i, seed in enumerate(seeds):
            customer = Customer(name=f"Customer {i}", email=f"c{i}@example.com")
            answers = {"software": {"platform": seed.platform}} if seed.platform else {}
            run = JourneyRun(
                customer=customer,
                journey_id="default",
                journey_version=seed.version or journey.version,
                current_step="welcome",
                status=seed.status,
                answers=answers,
                created_at=seed.started,
            )
            db.session.add(run)
            db.session.flush()
            for n, (step, kind, duration, detail) in enumerate(seed.events):
                db.session.add(
                    JourneyEvent(
                        run_id=run.id,
                        step=step,
                        kind=kind,
                        duration_ms=duration,
                        detail=detail,
                        occurred_at=seed.started + timedelta(minutes=n),
                    )
                )
            for platform, status, error in seed.attempts:
                db.session.add(
                    Connection(
                        customer_id=customer.id,
                        run_id=run.id,
                        platform=platform,
                        status=status,
                        last_error=error,
                        linked_at=seed.started if status == "linked" else None,
                    )
                )
            for platform in seed.disconnected:
                db.session.add(
                    Connection(
                        customer_id=customer.id,
                        run_id=run.id,
                        platform=platform,
                        status="disconnected",
                        linked_at=seed.started,
                    )
                )
        db.session.commit()


def _old_version(app: Flask) -> None:
    """An earlier wording of the default journey: no consent or instructions, a survey."""
    with app.app_context():
        journey = get_journey("default")
        assert journey is not None
        definition = journey.model_dump(mode="json")
        steps = {s["id"]: s for s in definition["steps"]}
        survey = {"id": "survey", "type": "welcome", "title": "Tell us about you"}
        definition["steps"] = [
            steps["welcome"],
            steps["software"],
            survey,
            {**steps["connect"], "when": None},
            steps["done"],
        ]
        db.session.add(
            JourneyVersion(
                version=OLD,
                journey_id="default",
                definition=definition,
                created_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
        )
        db.session.commit()


def _march(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC)


SEEDS = [
    # Finished with the Sandbox.
    Seed(
        _march(1, 0),
        [
            *_walk(
                ("welcome", 1000),
                ("consent", 3000),
                ("software", 2000),
                ("connect", 10000),
            ),
            ("done", "entered", None, None),
        ],
        status="completed",
        platform="sandbox",
        attempts=[("sandbox", "linked", None)],
    ),
    # Chose Xero; the customer refused access there.
    Seed(
        _march(10),
        [
            *_walk(("welcome", 2000), ("consent", 5000), ("software", 1000)),
            ("connect", "entered", None, None),
            ("connect", "failed", 9000, "access_denied"),
        ],
        platform="xero",
        attempts=[("xero", "failed", "access_denied")],
    ),
    # Declined the consent.
    Seed(
        _march(20),
        [
            *_walk(("welcome", 3000)),
            ("consent", "entered", None, None),
            ("consent", "failed", 4000, "consent declined"),
        ],
        status="declined",
    ),
    # Looked at the welcome page twice and left.
    Seed(_march(31, 23), [("welcome", "entered", None, None), ("welcome", "entered", None, None)]),
    # Outside the period: not counted.
    Seed(datetime(2026, 2, 28, 23, 59, tzinfo=UTC), _walk(("welcome", 99000))),
    Seed(datetime(2026, 4, 1, 0, 0, tzinfo=UTC), _walk(("welcome", 99000))),
]
OLD_RUN = Seed(
    _march(15),
    [
        *_walk(("welcome", 5000), ("software", 1000), ("survey", 2000), ("connect", 8000)),
        ("done", "entered", None, None),
    ],
    status="completed",
    platform="quickbooks",
    attempts=[("quickbooks", "failed", "server_error"), ("quickbooks", "linked", None)],
    version=OLD,
)


@pytest.fixture
def seeded(app: Flask) -> Flask:
    _old_version(app)
    _plant(app, [*SEEDS, OLD_RUN])
    return app


def _figures(app: Flask, version: str | None, period: Period = MARCH) -> Funnel:
    with app.app_context():
        if version == "current":
            journey = get_journey("default")
            assert journey is not None
            version = journey.version
        return funnel("default", version, period)


def _table(result: Funnel) -> list[tuple[str, int, int, float | None, int | None]]:
    return [(s.step_id, s.reached, s.completed, s.conversion, s.median_ms) for s in result.steps]


def _versions(app: Flask, period: Period = MARCH) -> list[VersionFigures]:
    with app.app_context():
        return by_version("default", period)


def _current_version(app: Flask) -> str:
    with app.app_context():
        journey = get_journey("default")
        assert journey is not None
        return journey.version


class _Tables(HTMLParser):
    """The rows of each table of a page, by caption: cell texts and the links in them."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[tuple[list[str], list[str]]]] = {}
        self._caption: str | None = None
        self._rows: list[tuple[list[str], list[str]]] = []
        self._in: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._rows = []
        elif tag == "caption":
            self._in, self._text = "caption", ""
        elif tag == "tr":
            self._rows.append(([], []))
        elif tag in ("td", "th"):
            self._in, self._text = "cell", ""
        elif tag == "a" and self._in == "cell":
            self._rows[-1][1].append(dict(attrs).get("href") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "caption":
            self._caption, self._in = " ".join(self._text.split()), None
        elif tag in ("td", "th") and self._in == "cell":
            self._rows[-1][0].append(" ".join(self._text.split()))
            self._in = None
        elif tag == "table" and self._caption is not None:
            self.tables[self._caption] = [row for row in self._rows if row[0]]
            self._caption = None

    def handle_data(self, data: str) -> None:
        if self._in is not None:
            self._text += data


def _tables(page: str) -> dict[str, list[tuple[list[str], list[str]]]]:
    parser = _Tables()
    parser.feed(page)
    return parser.tables


def test_the_current_version_counts_each_step_of_the_runs_started_in_the_period(
    seeded: Flask,
) -> None:
    result = _figures(seeded, "current")
    assert (result.runs, result.completed) == (4, 1)
    assert _table(result) == [
        ("welcome", 4, 3, None, 2000),
        ("consent", 3, 2, 3 / 4, 4000),
        ("software", 2, 2, 2 / 3, 1500),
        ("connect", 2, 1, 1.0, 10000),
        ("done", 1, 0, 1 / 2, None),
    ]


def test_all_versions_merge_the_steps_in_journey_order(seeded: Flask) -> None:
    result = _figures(seeded, None)
    assert (result.runs, result.completed) == (5, 2)
    assert _table(result) == [
        ("welcome", 5, 4, None, 2500),
        ("consent", 3, 2, 3 / 5, 4000),
        # The old version went from welcome to software directly: not a consent run.
        ("software", 3, 3, 2 / 3, 1000),
        ("survey", 1, 1, 1 / 3, 2000),
        ("connect", 3, 2, 1.0, 9000),
        ("done", 2, 0, 2 / 3, None),
    ]


def test_an_older_version_alone(seeded: Flask) -> None:
    result = _figures(seeded, OLD)
    assert [s.step_id for s in result.steps] == ["welcome", "software", "survey", "connect", "done"]
    assert [(s.reached, s.completed) for s in result.steps] == [(1, 1)] * 4 + [(1, 0)]


def test_each_version_counts_sessions_opened_completions_and_connections(seeded: Flask) -> None:
    current = _current_version(seeded)
    rows = _versions(seeded)
    assert [
        (v.version, v.current, v.opened, v.completed, v.connected, v.declined) for v in rows
    ] == [
        # Four runs opened: one completed with the Sandbox linked, one failed at Xero,
        # one declined the consent, one stopped at the welcome page.
        (current, True, 4, 1, 1, 1),
        # One run opened, completed with QuickBooks linked at the second attempt.
        (OLD, False, 1, 1, 1, 0),
    ]
    assert [(v.completion_rate, v.connection_rate) for v in rows] == [(1 / 4, 1 / 4), (1.0, 1.0)]
    assert rows[1].created_at == datetime(2026, 1, 1, tzinfo=UTC)


def test_a_run_connected_counts_even_unfinished_or_disconnected_since(app: Flask) -> None:
    _old_version(app)
    _plant(
        app,
        [
            # Linked Xero, then stopped before the last step.
            Seed(_march(2), _walk(("welcome", 1000)), attempts=[("xero", "linked", None)]),
            # Linked the Sandbox, finished, and disconnected it since.
            Seed(_march(3), _walk(("welcome", 1000)), status="completed", disconnected=["sandbox"]),
            # Only a failed and a pending attempt: not connected.
            Seed(
                _march(4),
                _walk(("welcome", 1000)),
                attempts=[("sage", "failed", "server_error"), ("sage", "pending", None)],
            ),
            # On the older version; one run declined, another opened in April is not counted.
            Seed(_march(5), _walk(("welcome", 1000)), status="declined", version=OLD),
            Seed(datetime(2026, 4, 1, tzinfo=UTC), _walk(("welcome", 1000)), version=OLD),
        ],
    )
    rows = _versions(app)
    assert [(v.version, v.opened, v.completed, v.connected, v.declined) for v in rows] == [
        (_current_version(app), 3, 1, 2, 0),
        (OLD, 1, 0, 0, 1),
    ]
    assert (rows[0].completion_rate, rows[0].connection_rate) == (1 / 3, 2 / 3)
    assert (rows[1].completion_rate, rows[1].connection_rate) == (0.0, 0.0)


def test_no_version_is_listed_for_a_period_without_runs(seeded: Flask) -> None:
    assert _versions(seeded, Period(date(2025, 1, 1), date(2025, 1, 31))) == []


def test_each_step_counts_the_runs_that_stopped_there(seeded: Flask) -> None:
    current = _figures(seeded, "current")
    # The welcome-only run stopped at welcome, the Xero run at connect; the completed
    # and the declined runs stopped nowhere.
    assert [(s.step_id, s.stopped, s.stopped_share) for s in current.steps] == [
        ("welcome", 1, 1 / 4),
        ("consent", 0, 0.0),
        ("software", 0, 0.0),
        ("connect", 1, 1 / 4),
        ("done", 0, 0.0),
    ]
    every = _figures(seeded, None)
    assert [(s.step_id, s.stopped) for s in every.steps if s.stopped] == [
        ("welcome", 1),
        ("connect", 1),
    ]
    assert [s.stopped_share for s in every.steps if s.stopped] == [1 / 5, 1 / 5]


def test_a_run_that_went_back_stopped_at_the_furthest_step_it_reached(app: Flask) -> None:
    _plant(
        app,
        [
            Seed(
                _march(6),
                [
                    *_walk(("welcome", 1000), ("consent", 1000)),
                    ("software", "entered", None, None),
                    ("consent", "entered", None, None),
                ],
            )
        ],
    )
    result = _figures(app, "current")
    assert [(s.step_id, s.stopped) for s in result.steps if s.stopped] == [("software", 1)]


def test_drop_off_by_platform_and_by_error_reason(seeded: Flask) -> None:
    result = _figures(seeded, None)
    platforms = {
        p.platform: (p.chosen, p.completed, p.stopped, p.connections) for p in result.platforms
    }
    assert platforms == {
        "xero": (1, 0, 1, {"failed": 1}),
        "sandbox": (1, 1, 0, {"linked": 1}),
        "quickbooks": (1, 1, 0, {"failed": 1, "linked": 1}),
        None: (2, 0, 2, {}),
    }
    # Runs that stopped come first; those that never chose a platform last.
    assert [p.platform for p in result.platforms] == ["xero", "quickbooks", "sandbox", None]
    assert [(e.platform, e.reason, e.attempts) for e in result.connection_errors] == [
        ("quickbooks", "server_error", 1),
        ("xero", "access_denied", 1),
    ]
    assert [(f.step_id, f.detail, f.events, f.runs) for f in result.step_failures] == [
        ("connect", "access_denied", 1, 1),
        ("consent", "consent declined", 1, 1),
    ]


def test_the_platform_of_a_run_that_never_answered_comes_from_its_attempts(app: Flask) -> None:
    _plant(
        app,
        [Seed(_march(5), _walk(("welcome", 1000)), attempts=[("sage", "pending", None)])],
    )
    result = _figures(app, None)
    assert [(p.platform, p.chosen, p.stopped, p.connections) for p in result.platforms] == [
        ("sage", 1, 1, {"pending": 1})
    ]


def test_a_period_with_no_runs_has_zero_everywhere(seeded: Flask) -> None:
    result = _figures(seeded, None, Period(date(2025, 1, 1), date(2025, 1, 31)))
    assert (result.runs, result.completed) == (0, 0)
    assert all((s.reached, s.completed, s.conversion) == (0, 0, None) for s in result.steps)
    assert (result.platforms, result.connection_errors, result.step_failures) == ([], [], [])


def test_the_funnel_page_draws_the_numbers_as_svg_and_as_a_table(seeded: Flask) -> None:
    client = signed_in_as(seeded, "viewer")
    response = client.get(
        "/admin/funnel",
        query_string={"journey": "default", "first": "2026-03-01", "last": "2026-03-31"},
    )
    assert response.status_code == 200
    page = response.text
    assert "5 runs of <strong>default</strong> (all versions)" in page
    assert '<svg class="funnel-chart"' in page
    assert 'role="img" aria-labelledby="funnel-chart-title funnel-chart-desc"' in page
    assert "5 reached" in page and "4 completed" in page
    # The table: welcome reached 5, completed 4, a median of 2.5 s.
    assert (
        '<td class="numeric">5</td>\n          <td class="numeric">4</td>\n'
        '          <td class="numeric">—</td>\n          <td class="numeric">2.5 s</td>'
    ) in page
    assert "<code>server_error</code>" in page
    assert "consent declined" in page


def test_the_funnel_page_compares_versions_and_links_each_to_its_funnel(seeded: Flask) -> None:
    client = signed_in_as(seeded, "viewer")
    march = {"journey": "default", "first": "2026-03-01", "last": "2026-03-31"}
    page = client.get("/admin/funnel", query_string=march).text
    caption = (
        "Sessions opened, completions and connections per version of default, "
        "runs started from 2026-03-01 to 2026-03-31"
    )
    rows = _tables(unescape(page))[caption]
    current = _current_version(seeded)
    assert [cells for cells, _ in rows] == [
        [
            "Version",
            "Published or first used",
            "Opened",
            "Completed",
            "Completion rate",
            "Connected",
            "Connection rate",
            "Declined",
        ],
        [f"Funnel of version {current[:12]} (current)", "—", "4", "1", "25%", "1", "25%", "1"],
        [
            f"Funnel of version {OLD[:12]}",
            "2026-01-01 00:00 UTC",
            "1",
            "1",
            "100%",
            "1",
            "100%",
            "0",
        ],
    ]
    (link,) = rows[2][1]
    assert parse_qs(urlsplit(link).query) == {
        "journey": ["default"],
        "version": [OLD],
        "first": ["2026-03-01"],
        "last": ["2026-03-31"],
    }
    # Following the link shows that version's funnel, marked in the table.
    chosen = client.get(link)
    assert chosen.status_code == 200
    assert f"1 run of <strong>default</strong> (version {OLD[:12]})" in chosen.text
    assert "1 completed (100%)" in chosen.text
    assert 'aria-current="true"><span class="visually-hidden">Funnel of version </span>' in (
        chosen.text
    )
    assert "Show the funnel of all versions" in chosen.text
    # The steps table says where runs stopped, as a number and as a share of opened.
    steps = _tables(unescape(page))["Runs that reached and completed each step, in journey order"]
    header, *body = [cells for cells, _ in steps]
    assert header[-2:] == ["Stopped here", "Stopped here, of opened"]
    stopped = {cells[0].rsplit("(", 1)[1].rstrip(")"): cells[-2:] for cells in body}
    assert stopped["welcome"] == ["1", "20%"]
    assert stopped["consent"] == ["0", "0%"]
    assert stopped["connect"] == ["1", "20%"]
    assert "How these are counted" in page
    assert "Completed ÷ opened." in unescape(page)


def test_a_period_without_runs_says_so_for_every_version(seeded: Flask) -> None:
    client = signed_in_as(seeded, "viewer")
    page = client.get(
        "/admin/funnel",
        query_string={"journey": "default", "first": "2025-01-01", "last": "2025-01-31"},
    ).text
    assert "No runs of this journey started in this period, on any version." in page
    assert "Published or first used" not in page


def test_the_funnel_defaults_to_the_last_30_days_of_the_default_journey(app: Flask) -> None:
    today = datetime.now(UTC).date()
    _plant(app, [Seed(datetime.now(UTC) - timedelta(hours=1), _walk(("welcome", 1000)))])
    client = signed_in_as(app, "viewer")
    page = client.get("/admin/funnel").text
    first = (today - timedelta(days=29)).isoformat()
    assert f'value="{first}"' in page and f'value="{today.isoformat()}"' in page
    assert "1 run of <strong>default</strong> (all versions)" in page
    assert "1 reached" in page


def test_choosing_a_version_counts_only_its_runs(seeded: Flask) -> None:
    client = signed_in_as(seeded, "viewer")
    response = client.get(
        "/admin/funnel",
        query_string={
            "journey": "default",
            "version": OLD,
            "first": "2026-03-01",
            "last": "2026-03-31",
        },
    )
    assert response.status_code == 200
    assert f"1 run of <strong>default</strong> (version {OLD[:12]})" in response.text
    assert "Tell us about you" in response.text


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"journey": "nope"}, "Choose one of the journeys listed."),
        ({"version": "f" * 64}, "Choose a version of this journey, or all versions."),
        ({"first": "yesterday"}, "Enter the first day, as YYYY-MM-DD."),
        ({"last": "2026-02-30"}, "Enter the last day, as YYYY-MM-DD."),
        ({"first": "2026-03-02", "last": "2026-03-01"}, "on or after the first day"),
        ({"first": "1900-01-01"}, "Choose a day from 2000-01-01 on."),
        ({"last": "9999-12-31"}, "no more than a year from today"),
    ],
)
def test_bad_filters_are_refused_with_a_clear_message(
    seeded: Flask, query: dict[str, str], message: str
) -> None:
    client = signed_in_as(seeded, "viewer")
    response = client.get("/admin/funnel", query_string={"journey": "default", **query})
    assert response.status_code == 400
    assert message in response.text
    assert "funnel-chart" not in response.text


def test_journeys_walked_through_the_app_are_counted_as_they_happened(
    app: Flask, connecting: FlaskClient, live_sandbox: LiveSandbox
) -> None:
    # One customer connects the Sandbox and finishes...
    started = connecting.post("/journey/connect")
    callback = urlsplit(live_sandbox.authorize(started.location, "approve"))
    assert connecting.get(f"{callback.path}?{callback.query}").status_code == 303
    assert connecting.get("/journey/done").status_code == 200
    # ...another reads the welcome page, moves on, and stops at the consent.
    with app.app_context():
        customer = create_customer("Stops Early Ltd", "owner@stops.example")
        link = journey_link(customer.public_id, "default").removeprefix("http://localhost")
    other = app.test_client()
    assert other.get(link, follow_redirects=True).status_code == 200
    other.post("/journey/welcome")
    other.get("/journey/consent")

    result = _figures(app, "current", Period.last_days())
    assert (result.runs, result.completed) == (2, 1)
    assert [(s.step_id, s.reached, s.completed) for s in result.steps] == [
        ("welcome", 2, 2),
        ("consent", 2, 1),
        ("software", 1, 1),
        ("connect", 1, 1),
        ("done", 1, 0),
    ]
    assert [s.conversion for s in result.steps] == [None, 1.0, 0.5, 1.0, 1.0]
    # Only the second customer was seen looking at a page before finishing it (the first
    # posted each step straight away), so only the welcome step has a time.
    assert [s.median_ms is not None for s in result.steps] == [True] + [False] * 4
    assert [(p.platform, p.chosen, p.completed, p.connections) for p in result.platforms] == [
        ("sandbox", 1, 1, {"linked": 1}),
        (None, 1, 0, {}),
    ]
    with app.app_context():
        assert readiness.sandbox_journey().ready

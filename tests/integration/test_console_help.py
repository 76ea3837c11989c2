"""The console teaches itself: every screen links to its help page, and the help pages
(docs/colleagues/) name every status the code can show on that screen."""

from __future__ import annotations

import inspect
import re
from html import unescape

import pytest
from flask import Flask

from app import models
from app.admin import help as console_help
from app.admin.customers_service import DISCONNECTABLE
from app.admin.nav import _SECTIONS
from app.admin.webhooks import STATUSES as DELIVERY_STATUSES
from app.analytics.funnel import CONNECTION_STATUSES
from app.connections import delegation
from app.connections.health import BREAK_REASONS
from app.consent.ledger import DECISIONS
from app.engine.messages import FAILURES
from app.extensions import db
from app.models import NOT_RETRYABLE, Customer
from tests.admin import signed_in_as


def _help_text(key: str) -> str:
    return (console_help.HELP_DIR / f"{key}.md").read_text(encoding="utf-8")


def _commented_statuses(model: type, column: str = "status") -> list[str]:
    """The values a model's comment above ``column`` lists ("a, b (why) or c.")."""
    source = inspect.getsource(model)
    found = re.search(rf"((?:^[ \t]*#.*\n)+)[ \t]*{column}: Mapped", source, re.M)
    assert found is not None, f"{model.__name__}.{column} has no comment listing its values"
    comment = " ".join(line.strip().lstrip("#").strip() for line in found[1].splitlines())
    comment = re.sub(r"\([^)]*\)", "", comment).strip().rstrip(".")
    return [word.strip() for word in re.split(r",|\bor\b", comment) if word.strip()]


def _table_words(text: str) -> set[str]:
    """The first cell of each table row: the word a help table explains."""
    words = set()
    for cell in re.findall(r"^\| ([^|]+?) \|", text, re.M):
        words.update(w.strip() for w in re.split(r",|/", cell))
    return words


STATUSES_BY_SCREEN = [
    ("customer", "connection status", _commented_statuses(models.Connection)),
    ("customer", "run status", _commented_statuses(models.JourneyRun)),
    ("customer", "connection failure", [*FAILURES, *NOT_RETRYABLE]),
    ("customer", "reason a connection broke", list(BREAK_REASONS)),
    (
        "customer",
        "delegation state",
        [
            delegation.WAITING,
            delegation.OPENED,
            delegation.COMPLETED,
            delegation.REVOKED,
            delegation.NOT_NEEDED,
            delegation.EXPIRED,
        ],
    ),
    ("funnel", "connection status", list(CONNECTION_STATUSES)),
    ("consents", "consent decision", list(DECISIONS)),
    ("webhooks", "delivery status", list(DELIVERY_STATUSES)),
    ("webhooks", "delivery status", _commented_statuses(models.WebhookDelivery)),
    ("webhooks", "endpoint status", _commented_statuses(models.WebhookEndpoint)),
    ("journey-draft", "draft status", _commented_statuses(models.JourneyDraft)),
]


@pytest.mark.parametrize(
    ("screen", "what", "statuses"),
    STATUSES_BY_SCREEN,
    ids=[f"{screen}-{what}" for screen, what, _ in STATUSES_BY_SCREEN],
)
def test_each_status_the_code_knows_is_explained_on_its_screens_help(
    screen: str, what: str, statuses: list[str]
) -> None:
    assert statuses, f"no {what} found in the code"
    explained = _table_words(_help_text(screen))
    missing = [s for s in statuses if s not in explained]
    assert not missing, f"docs/colleagues/{screen}.md does not explain the {what}es {missing}"


def test_the_connection_statuses_are_the_same_everywhere() -> None:
    # The funnel's columns, the model's comment and the disconnect rule name one set.
    assert set(CONNECTION_STATUSES) == set(_commented_statuses(models.Connection))
    assert set(DISCONNECTABLE) <= set(CONNECTION_STATUSES)


def test_every_section_of_the_navigation_has_a_help_page(app: Flask) -> None:
    with app.test_request_context():
        for endpoint, section in _SECTIONS.items():
            screen = console_help.help_for(endpoint)
            assert screen is not None, f"{section.label} ({endpoint}) has no help page"
            assert screen.document.is_file(), f"{screen.document} is missing"
    for screen in console_help.SCREENS:
        text = _help_text(screen.key)
        assert text.startswith(f"# {screen.title}\n"), f"{screen.key}.md starts with its title"
        assert f"](screenshots/{screen.key}.png)" in text, f"{screen.key}.md shows its screen"
        assert screen.screenshot.is_file(), f"run e2e/test_console_help.py: {screen.key}.png"
        for endpoint in screen.endpoints:
            assert endpoint in app.view_functions, f"{screen.key}: no endpoint {endpoint}"


def _customer(app: Flask) -> str:
    with app.app_context():
        customer = Customer(name="Harbourside Bakery", email="bakery@example.com")
        db.session.add(customer)
        db.session.commit()
        return customer.public_id


def test_every_screen_links_to_its_help_and_the_help_page_opens(app: Flask) -> None:
    admin = signed_in_as(app, "admin")
    screens = {
        "/admin/": "Overview",
        "/admin/customers": "Customers",
        f"/admin/customers/{_customer(app)}": "A customer",
        "/admin/consents": "Consents",
        "/admin/funnel": "Funnel",
        "/admin/journeys": "Journeys",
        "/admin/journeys/default": "A journey and its versions",
        "/admin/journey-drafts/new": "Journey drafts",
        "/admin/webhooks": "Webhooks",
        "/admin/users": "Users",
        "/admin/api-keys": "API keys",
        "/admin/audit": "Audit log",
        "/admin/go-live": "Go-live checklist",
    }
    for path, title in screens.items():
        page = admin.get(path)
        assert page.status_code == 200, path
        link = re.search(r'<a href="(/admin/help/[a-z-]+)">Help: ([^<]+)</a>', page.text)
        assert link is not None, f"{path} has no help link"
        assert unescape(link[2]) == title
        help_page = admin.get(link[1])
        assert help_page.status_code == 200
        assert f"<title>Help: {title} · Onramp admin</title>" in unescape(help_page.text)
        assert "<h1>" in help_page.text


def test_help_pages_render_their_markdown_links_and_screenshots(app: Flask) -> None:
    viewer = signed_in_as(app, "viewer")
    index = viewer.get("/admin/help")
    assert index.status_code == 200
    for screen in console_help.SCREENS:
        assert f'href="/admin/help/{screen.key}"' in index.text

    page = viewer.get("/admin/help/customer").text
    assert "<table>" in page and "<th>Status</th>" in page
    assert '<img src="screenshots/customer.png"' in page
    # A link written for readers of the repository (consents.md) opens the console's page.
    assert 'href="/admin/help/consents"' in page
    assert ".md" not in re.sub(r"<code>[^<]*</code>", "", page.split("<main", 1)[1])


def test_only_known_screenshots_are_served(app: Flask) -> None:
    viewer = signed_in_as(app, "viewer")
    for path in (
        "/admin/help/screenshots/..%2F..%2F..%2Fapp%2Fconfig.py",
        "/admin/help/screenshots/../overview.md",
        "/admin/help/screenshots/nothing-here.png",
        "/admin/help/screenshots/%2e%2e%2fREADME.png",
        "/admin/help/README",
        "/admin/help/..%2F..%2FREADME",
        "/admin/help/no-such-screen",
    ):
        assert viewer.get(path).status_code == 404, path


def test_help_needs_a_signed_in_colleague(app: Flask) -> None:
    anonymous = app.test_client()
    for path in ("/admin/help", "/admin/help/overview", "/admin/help/screenshots/overview.png"):
        response = anonymous.get(path)
        assert response.status_code == 302
        assert "/admin/login" in response.headers["Location"]

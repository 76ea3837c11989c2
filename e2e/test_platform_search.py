"""Finding and choosing the software with JavaScript: the list narrows as the customer
types (ignoring case and accents), a polite status says how many match, and the
keyboard goes from the search box straight to the first match. Without JavaScript the
same box reloads the step filtered (tests/integration/test_platform_picker.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from app.links import journey_link as make_link
from e2e.accessibility import assert_accessible
from e2e.live import LiveServer
from e2e.pages.journey import (
    DefaultConnect,
    DefaultSoftware,
    DefaultWelcome,
)

# journeys/default.yaml offers these five; the Sandbox plays the four vendors here.
OFFERED = [
    "Sandbox Accounting",
    "Xero",
    "QuickBooks Online",
    "Sage Business Cloud Accounting",
    "FreeAgent",
]


@pytest.fixture
def every_platform(live_server: LiveServer) -> Iterator[LiveServer]:
    """Every platform the default journey offers can be connected on the test server."""
    app = live_server.app
    before = app.config["SANDBOX_PLAYS"]
    app.config["SANDBOX_PLAYS"] = ["xero", "quickbooks", "sage", "freeagent"]
    yield live_server
    app.config["SANDBOX_PLAYS"] = before


def expect_shown(software: DefaultSoftware, names: list[str]) -> None:
    """Exactly these platforms are shown, in this order (each button may add its logo's
    letters, hidden from screen readers)."""
    expect(software.shown).to_have_count(len(names))
    expect(software.shown).to_contain_text(names)


def fits(software: DefaultSoftware) -> None:
    """Nothing of the step scrolls sideways (WCAG 1.4.10 Reflow)."""
    width = software.main.evaluate("main => main.scrollWidth - main.clientWidth")
    wide = software.main.evaluate(
        "main => [...main.querySelectorAll('*')]"
        ".filter((e) => e.scrollWidth > e.clientWidth + 0.5 && e.clientWidth > 0)"
        ".map((e) => e.outerHTML.slice(0, 80))"
    )
    assert width <= 0, f"the step is {width}px wider than the screen: {wide}"


def _software(page: Page, live_server: LiveServer, lang: str = "en") -> DefaultSoftware:
    from app.customers.records import create_customer

    with live_server.app.app_context():
        customer = create_customer("Acme Ltd", "owner@acme.example")
        link = make_link(customer.public_id, "default", None if lang == "en" else lang)
    welcome = DefaultWelcome.open(page, link, lang)
    return welcome.get_started().agree()


def test_the_list_narrows_as_the_customer_types(page: Page, every_platform: LiveServer) -> None:
    software = _software(page, every_platform)
    expect_shown(software, OFFERED)
    expect(software.status).to_have_text("")

    software.search_for("quick")
    expect_shown(software, ["QuickBooks Online"])
    expect(software.status).to_have_text("1 match")

    software.search_for("SÂGE")
    expect_shown(software, ["Sage Business Cloud Accounting"])

    software.search_for("o")
    expect(software.shown).to_have_count(4)
    expect(software.status).to_have_text("4 matches")

    software.search_for("Ledgerly")
    expect(software.shown).to_have_count(0)
    expect(software.status).to_have_text("No software matches “Ledgerly”")
    assert_accessible(page)

    # Enter keeps the customer here: the list is already filtered.
    software.search.press("Enter")
    expect(software.search).to_be_focused()
    expect(software.status).to_have_text("No software matches “Ledgerly”")

    software.search.fill("")
    expect_shown(software, OFFERED)
    expect(software.status).to_have_text("")


def test_search_and_choose_by_keyboard(page: Page, every_platform: LiveServer) -> None:
    software = _software(page, every_platform)
    software.search.focus()
    page.keyboard.type("free")
    expect_shown(software, ["FreeAgent"])

    # Tab goes from the box (past its Search button) to the one match; Enter chooses it.
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(software.platform("FreeAgent")).to_be_focused()
    page.keyboard.press("Enter")

    connect = DefaultConnect(page)
    expect(connect.main).to_contain_text("How to connect FreeAgent")


@pytest.mark.parametrize("width", [390, 320])
@pytest.mark.parametrize("lang", ["en", "fr", "de"])
def test_the_picker_is_accessible_on_phones(
    new_context: Callable[..., BrowserContext], every_platform: LiveServer, lang: str, width: int
) -> None:
    page = new_context(viewport={"width": width, "height": 700}).new_page()
    software = _software(page, every_platform, lang)
    fits(software)

    software.search_for("zzz")
    expect(software.shown).to_have_count(0)
    expect(software.status).not_to_be_empty()
    assert_accessible(page)
    fits(software)

    software.search_for("xe")
    expect_shown(software, ["Xero"])
    assert_accessible(page)

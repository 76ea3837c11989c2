"""The console teaches itself: each screen links to its help page, whose screenshot is
taken here, from the screen as it is now, so the help never shows a stale screen.

Running this test rewrites docs/colleagues/screenshots/<screen>.png: commit them when a
screen changed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from e2e.accessibility import assert_accessible, assert_no_horizontal_scroll
from e2e.admin import SECTIONS
from e2e.conftest import AdminSeed
from e2e.live import LiveServer

SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "colleagues" / "screenshots"
# Wide enough for the console's desktop layout, narrow enough to keep the pictures small.
SHOT_VIEWPORT = {"width": 1100, "height": 800}
SHOT_HEIGHT = 720
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def _screens(live_server: LiveServer, seed: AdminSeed) -> dict[str, tuple[str, str]]:
    """Each help page's screen: its key, the path that shows it and its help link's title."""
    from app.engine.registry import get_journey

    with live_server.app.app_context():
        journey = get_journey("default")
        assert journey is not None
        version = journey.version
    return {
        "overview": ("/admin/", "Overview"),
        "customers": (f"/admin/customers?q={seed.external_id}", "Customers"),
        "new-customer": ("/admin/customers/new", "Add a customer"),
        "customer": (f"/admin/customers/{seed.customer_public_id}", "A customer"),
        "consents": ("/admin/consents", "Consents"),
        "funnel": ("/admin/funnel", "Funnel"),
        "journeys": ("/admin/journeys", "Journeys"),
        "journey": ("/admin/journeys/default", "A journey and its versions"),
        "journey-draft": ("/admin/journey-drafts/new?from=default", "Journey drafts"),
        "privacy-map": ("/admin/journeys/default/privacy", "Data map and impact assessment"),
        "journey-preview": (f"/admin/journeys/default/preview/{version}", "Journey preview"),
        "webhooks": ("/admin/webhooks", "Webhooks"),
        "users": ("/admin/users", "Users"),
        "api-keys": ("/admin/api-keys", "API keys"),
        "audit-log": ("/admin/audit", "Audit log"),
        "go-live": ("/admin/go-live", "Go-live checklist"),
        "security-evidence": ("/admin/security", "Security evidence"),
    }


def _admin(
    new_context: Callable[..., BrowserContext],
    admin_sessions: Callable[[str], dict[str, Any]],
    viewport: dict[str, int],
) -> Page:
    return new_context(storage_state=admin_sessions("admin"), viewport=viewport).new_page()


def _shoot(page: Page, key: str) -> None:
    """The top of the page's main area, at CSS pixels: small enough to keep in git."""
    box = page.get_by_role("main").bounding_box()
    assert box is not None
    page.screenshot(
        path=SCREENSHOTS / f"{key}.png",
        full_page=True,
        scale="css",
        animations="disabled",
        clip={
            "x": box["x"],
            "y": box["y"],
            "width": box["width"],
            "height": min(box["height"], SHOT_HEIGHT),
        },
    )


def test_each_screen_links_to_its_help_and_its_screenshot_is_taken(
    new_context: Callable[..., BrowserContext],
    admin_sessions: Callable[[str], dict[str, Any]],
    live_server: LiveServer,
    admin_seed: AdminSeed,
) -> None:
    from app.admin.help import SCREENS

    page = _admin(new_context, admin_sessions, SHOT_VIEWPORT)
    screens = _screens(live_server, admin_seed)
    assert set(screens) == {s.key for s in SCREENS}, "a help page without a screen to shoot"

    for key, (path, title) in screens.items():
        page.goto(f"{live_server.url}{path}")
        expect(page.get_by_role("link", name=f"Help: {title}")).to_be_visible()
        _shoot(page, key)
        assert (SCREENSHOTS / f"{key}.png").stat().st_size < 400_000, f"{key}.png is too big"

    # Every section of the navigation has its help, one click away.
    page.goto(f"{live_server.url}/admin/")
    navigation = page.get_by_role("navigation", name="Admin sections")
    for label in SECTIONS:
        navigation.get_by_role("link", name=label, exact=True).click()
        page.get_by_role("link", name="Help:").click()
        expect(page.get_by_role("link", name="All help pages")).to_be_visible()
        expect(page.get_by_role("main").get_by_role("heading", level=1)).to_be_visible()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_help_pages_show_their_screen_and_are_accessible(
    new_context: Callable[..., BrowserContext],
    admin_sessions: Callable[[str], dict[str, Any]],
    live_server: LiveServer,
    viewport: dict[str, int],
) -> None:
    from app.admin.help import SCREENS

    page = _admin(new_context, admin_sessions, viewport)
    page.goto(f"{live_server.url}/admin/help")
    expect(page.get_by_role("heading", name="Help", level=1)).to_be_visible()
    assert_accessible(page)
    assert_no_horizontal_scroll(page)

    for screen in SCREENS:
        assert screen.screenshot.is_file(), f"{screen.screenshot} is missing"
        page.goto(f"{live_server.url}/admin/help")
        page.get_by_role("main").get_by_role("link", name=screen.title, exact=True).click()
        main = page.get_by_role("main")
        expect(main.get_by_role("heading", level=1)).to_have_text(screen.title)
        expect(main.get_by_role("heading", name="What it is for")).to_be_visible()
        picture = main.get_by_role("img").first
        expect(picture).to_be_visible()
        assert picture.evaluate("img => img.complete && img.naturalWidth > 0"), (
            f"the screenshot of {screen.key} does not load"
        )
        assert_accessible(page)
        assert_no_horizontal_scroll(page)

"""The business's own web page with the journey embedded in it, for the UAT scenarios.

The page is docs/examples/host-page.html, shown at one of the journey's
``integration.allowed_origins`` (say https://northwind-lending.example): the browser
is given the page by the test itself (Playwright routing), so no web server is needed
and the environment's real embedding rules are what is tested. The journey runs in a
frame on it, and the page lists the events Onramp sends it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlencode

from playwright.sync_api import Frame, Locator, Page, Route

from e2e.pages.base import UatPage, titled

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
FILES = {
    "/host-page.html": "text/html",
    "/host-page.js": "text/javascript",
    "/host-page.css": "text/css",
}
# The frame's title, as the host page gives it (docs/examples/host-page.js).
FRAME_TITLE = "Connect your accounting software"


def serve_business_site(page: Page, origin: str, onramp: str) -> None:
    """Answer the browser's requests to ``origin`` with the example page, under the strict
    Content-Security-Policy a business would give it (Onramp's script and frame only)."""
    policy = "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' {onramp}",
            f"frame-src {onramp}",
            "style-src 'self'",
            "base-uri 'none'",
            "object-src 'none'",
        ]
    )

    def answer(route: Route) -> None:
        path = re.sub(r"^[a-z]+://[^/]+", "", route.request.url).split("?")[0]
        mimetype = FILES.get(path)
        if mimetype is None:
            route.fulfill(status=404, body="not found")
            return
        route.fulfill(
            body=(EXAMPLES / path.lstrip("/")).read_bytes(),
            content_type=mimetype,
            headers={"Content-Security-Policy": policy},
        )

    page.route(f"{origin}/**", answer)


class HostEvents:
    """The example page's list of the events Onramp has sent it, newest last."""

    main: Locator

    @property
    def event_log(self) -> Locator:
        return self.main.get_by_role("list", name="Events from Onramp")

    def event(self, type_: str) -> Locator:
        """The log's entries for one event type ("ready", "connection", "finished", ...)."""
        return self.event_log.get_by_role("listitem").filter(
            has_text=re.compile(rf"^{re.escape(type_)} ")
        )

    def events(self) -> list[tuple[str, dict[str, object]]]:
        """Every event received so far, in order: its type and what it said."""
        entries = []
        for text in self.event_log.get_by_role("listitem").all_inner_texts():
            type_, _, detail = text.partition(" ")
            entries.append((type_, json.loads(detail)))
        return entries


class BusinessPage(HostEvents, UatPage):
    """The business's page: "Connect your accounting software here", and the event log."""

    titles = titled("Your loan application")

    @classmethod
    def open(cls, page: Page, origin: str, onramp: str, journey_link: str) -> BusinessPage:
        serve_business_site(page, origin, onramp)
        # Chromium asks before a public site's page reaches a private or loopback address
        # (Local Network Access), as the page does when Onramp runs on this machine or on
        # a private network: the customer's "Allow", given up front.
        page.context.grant_permissions(["local-network-access"], origin=origin)
        page.goto(f"{origin}/host-page.html?" + urlencode({"embedded": journey_link}))
        return cls(page)

    @property
    def journey_frame(self) -> Locator:
        return self.page.get_by_title(FRAME_TITLE, exact=True)

    def open_embedded(self) -> Frame:
        """Press the business's button: the journey opens in a frame on this page."""
        self.button("Connect your accounting software here").click()
        handle = self.journey_frame.element_handle()
        frame = handle.content_frame()
        assert frame is not None, "the journey's frame has no document"
        return frame

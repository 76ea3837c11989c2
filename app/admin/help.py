"""The console teaches itself: a help page per screen, written in docs/colleagues/.

Each screen names the endpoints that show it; the console's layout links every page
of those endpoints to its help. The Markdown is the same file a reader finds in the
repository, and its screenshot (docs/colleagues/screenshots/<screen>.png) is taken by
the browser tests (e2e/test_console_help.py), so neither goes stale.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from flask import abort, render_template, send_file, url_for
from markupsafe import Markup
from werkzeug.wrappers import Response

from app.admin import bp
from app.admin.guard import requires
from app.config import ROOT
from app.markdown import render_document

HELP_DIR = ROOT / "docs" / "colleagues"
SCREENSHOTS = HELP_DIR / "screenshots"


@dataclass(frozen=True)
class HelpScreen:
    key: str  # the file's name: docs/colleagues/<key>.md
    title: str
    endpoints: tuple[str, ...]

    @property
    def document(self) -> Path:
        return HELP_DIR / f"{self.key}.md"

    @property
    def screenshot(self) -> Path:
        return SCREENSHOTS / f"{self.key}.png"


# In the navigation's order; a new console screen adds its endpoints here and its page
# in docs/colleagues/ (tests/integration/test_console_help.py checks both).
SCREENS: tuple[HelpScreen, ...] = (
    HelpScreen("overview", "Overview", ("admin.dashboard",)),
    HelpScreen("customers", "Customers", ("admin.customers",)),
    HelpScreen("new-customer", "Add a customer", ("admin.new_customer",)),
    HelpScreen(
        "customer",
        "A customer",
        (
            "admin.customer",
            "admin.assign_customer",
            "admin.create_link",
            "admin.create_reconnect_link",
            "admin.disconnect",
            "admin.revoke_delegation",
            "admin.revoke_link",
            "admin.reissue_link",
            "admin.add_note",
        ),
    ),
    HelpScreen("consents", "Consents", ("admin.consents",)),
    HelpScreen("funnel", "Funnel", ("admin.funnel",)),
    HelpScreen("journeys", "Journeys", ("admin.journeys",)),
    HelpScreen(
        "journey",
        "A journey and its versions",
        ("admin.journey", "admin.journey_version", "admin.journey_diff_view"),
    ),
    HelpScreen(
        "journey-draft",
        "Journey drafts",
        (
            "admin.new_draft",
            "admin.create_draft",
            "admin.draft",
            "admin.save_draft",
            "admin.publish_draft",
            "admin.discard_draft",
        ),
    ),
    HelpScreen(
        "privacy-map",
        "Data map and impact assessment",
        ("admin.journey_privacy",),
    ),
    HelpScreen(
        "journey-preview",
        "Journey preview",
        ("admin.preview", "admin.start_preview", "admin.preview_step", "admin.preview_declined"),
    ),
    HelpScreen("webhooks", "Webhooks", ("admin.webhooks", "admin.webhook_encryption")),
    HelpScreen("users", "Users", ("admin.users", "admin.create_user_view")),
    HelpScreen("api-keys", "API keys", ("admin.api_keys", "admin.create_api_key")),
    HelpScreen("audit-log", "Audit log", ("admin.audit_log",)),
    HelpScreen("go-live", "Go-live checklist", ("admin.golive",)),
    HelpScreen("security-evidence", "Security evidence", ("admin.security_evidence",)),
)
_BY_KEY = {s.key: s for s in SCREENS}
_BY_ENDPOINT = {endpoint: s for s in SCREENS for endpoint in s.endpoints}
# A link from one help page to another, as written for readers of the repository.
_PAGE_LINK = re.compile(r'href="([a-z0-9-]+)\.md(#[a-z0-9-]*)?"')


def help_for(endpoint: str | None) -> HelpScreen | None:
    """The help page of the screen that ``endpoint`` shows, if it has one."""
    return _BY_ENDPOINT.get(endpoint or "")


@bp.context_processor
def _help_link() -> dict[str, object]:
    return {"help_for": help_for}


@lru_cache(maxsize=64)
def _rendered(key: str, mtime: float) -> Markup:
    text = _BY_KEY[key].document.read_text(encoding="utf-8")
    html = _PAGE_LINK.sub(
        lambda m: f'href="{url_for("admin.help_page", screen=m[1])}{m[2] or ""}"',
        str(render_document(text)),
    )
    return Markup(html)


@bp.route("/help")
@requires("read")
def help_index() -> str:
    return render_template("admin/help/index.html", screens=SCREENS)


@bp.route("/help/<screen>")
@requires("read")
def help_page(screen: str) -> str:
    found = _BY_KEY.get(screen)
    if found is None or not found.document.is_file():
        abort(404)
    body = _rendered(found.key, found.document.stat().st_mtime)
    return render_template("admin/help/page.html", screen=found, body=body)


@bp.route("/help/screenshots/<screen>.png")
@requires("read")
def help_screenshot(screen: str) -> Response:
    # Only the screenshot of a known screen: the name is looked up, never joined to a path.
    found = _BY_KEY.get(screen)
    if found is None or not found.screenshot.is_file():
        abort(404)
    return send_file(found.screenshot, mimetype="image/png", max_age=300)

"""A colleague opens a journey's data map and draft privacy impact assessment, downloads it,
and prints it without the console around it; on a desktop and a phone, axe clean."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, expect

from e2e.accessibility import assert_accessible, assert_no_horizontal_scroll
from e2e.live import LiveServer

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
TITLE = "Data map and privacy impact assessment: Share your accounts for your loan application"


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_a_viewer_reads_downloads_and_prints_a_journeys_privacy_assessment(
    new_context: Callable[..., BrowserContext],
    admin_sessions: Callable[[str], dict[str, Any]],
    live_server: LiveServer,
    viewport: dict[str, int],
) -> None:
    page = new_context(
        storage_state=admin_sessions("viewer"), viewport=viewport, accept_downloads=True
    ).new_page()
    page.goto(f"{live_server.url}/admin/journeys/default")
    main = page.get_by_role("main")
    main.get_by_role("link", name="Data map and privacy assessment").click()
    expect(main.get_by_role("heading", level=1)).to_have_text(TITLE)

    items = main.get_by_role("region", name="Consent items", exact=True)
    row = items.get_by_role("row").filter(has_text="financial_statements")
    expect(row).to_contain_text("Profit and loss, balance sheet and cash flow")
    expect(row).to_contain_text("Consent (GDPR Art. 6(1)(a))")
    expect(row).to_contain_text("To complete: required to go on")
    platforms = main.get_by_role("region", name="Processors and sources: the platforms offered")
    expect(platforms.get_by_role("row").filter(has_text="Xero")).to_contain_text(
        "accounting.invoices.read"
    )
    expect(main.get_by_role("heading", name="4. Necessity and proportionality")).to_be_visible()
    expect(main.get_by_role("region", name="Risks to individuals", exact=True)).to_contain_text(
        "Access tokens are stolen and used to read the accounts."
    )
    assert_accessible(page)
    assert_no_horizontal_scroll(page)

    with page.expect_download() as markdown:
        main.get_by_role("link", name="Download as Markdown").click()
    assert markdown.value.suggested_filename.startswith("privacy-default-")
    assert markdown.value.suggested_filename.endswith(".md")
    with page.expect_download() as data_map:
        main.get_by_role("link", name="Download the data map as JSON").click()
    assert data_map.value.suggested_filename.endswith(".json")

    page.emulate_media(media="print")
    expect(page.get_by_role("navigation", name="Admin sections")).to_be_hidden()
    expect(main.get_by_role("link", name="Download as Markdown")).to_be_hidden()
    expect(main.get_by_role("heading", level=1)).to_be_visible()
    expect(main.get_by_role("heading", name="7. Sign off and outcomes")).to_be_visible()

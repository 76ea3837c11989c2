"""The embedded journey tells the business's page when the customer is mid-journey, and
the example page (docs/examples/host-page.js) asks before the customer leaves it then."""

from __future__ import annotations

import pytest
from playwright.sync_api import Dialog, Page, expect

from e2e.conftest import EmbeddingSite
from e2e.pages import ConsentPage, HostPage, SoftwarePage

pytestmark = pytest.mark.usefixtures("embedding_site")


def _leave(page: Page) -> list[Dialog]:
    """Close the tab as a customer would; the page may ask first (we stay)."""
    asked: list[Dialog] = []

    def answer(dialog: Dialog) -> None:
        asked.append(dialog)
        dialog.dismiss()

    page.on("dialog", answer)
    # Another tab to wait in: the closing one may be gone by then.
    waiting = page.context.new_page()
    page.close(run_before_unload=True)
    waiting.wait_for_timeout(1000)
    waiting.close()
    page.remove_listener("dialog", answer)
    return asked


def test_leaving_mid_journey_asks_first_and_not_once_finished(
    page: Page, embedding_site: EmbeddingSite
) -> None:
    host = HostPage.open(page, embedding_site.page(embedded=embedding_site.link().url))
    journey = host.open_embedded()
    progress = host.main.get_by_role("status")
    expect(progress).to_have_text("Journey not in progress: this page can be left freely.")

    journey.main.get_by_role("button", name="Get started").click()
    expect(journey.heading).to_have_text(ConsentPage.title)
    expect(progress).to_have_text(
        "Journey in progress (step consent): leaving this page asks first."
    )
    journey.main.get_by_role("button", name="Agree and continue").click()
    expect(journey.heading).to_have_text(SoftwarePage.title)
    expect(progress).to_contain_text("(step software)")
    # The event is the host page's own business: the event log lists the others only.
    expect(host.event("in_progress")).to_have_count(0)

    asked = _leave(page)
    assert [dialog.type for dialog in asked] == ["beforeunload"]
    assert not page.is_closed()

    # Saving to finish later hands the customer their link: leaving is fine then.
    journey.main.get_by_role("button", name="Save and finish later").click()
    expect(journey.heading).to_have_text("Keep this link to finish later")
    expect(progress).to_have_text("Journey not in progress: this page can be left freely.")
    assert _leave(page) == []
    assert page.is_closed()


def test_declining_ends_the_journey_in_progress(page: Page, embedding_site: EmbeddingSite) -> None:
    host = HostPage.open(page, embedding_site.page(embedded=embedding_site.link().url))
    journey = host.open_embedded()
    progress = host.main.get_by_role("status")
    journey.main.get_by_role("button", name="Get started").click()
    expect(progress).to_contain_text("Journey in progress")
    journey.main.get_by_role("button", name="Decline and stop").click()
    expect(journey.heading).to_have_text("You declined to share your accounting data")
    expect(progress).to_have_text("Journey not in progress: this page can be left freely.")
    assert _leave(page) == []

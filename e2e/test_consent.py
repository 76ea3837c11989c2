"""The consent step: required items, the error summary, declining and changing one's mind."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from e2e.accessibility import assert_accessible
from e2e.live import JourneyLink, LiveServer
from e2e.pages import FINANCIAL_STATEMENTS, INVOICES_AND_BILLS, ConsentPage


def test_required_consent_left_unticked(
    at_consent: ConsentPage, page: Page, journey_link: JourneyLink, live_server: LiveServer
) -> None:
    consent = at_consent.tick(FINANCIAL_STATEMENTS).agree_expecting_problem()

    # What was ticked stays ticked; the missed box is marked and linked from the summary.
    expect(consent.checkbox(FINANCIAL_STATEMENTS)).to_be_checked()
    expect(consent.checkbox(INVOICES_AND_BILLS)).not_to_be_checked()
    expect(consent.checkbox(INVOICES_AND_BILLS)).to_have_attribute("aria-invalid", "true")
    problem = consent.error_summary.get_by_role("link", name=INVOICES_AND_BILLS)
    expect(problem).to_be_visible()
    assert_accessible(page)

    # The summary's link takes the customer to the box they missed.
    problem.focus()
    expect(problem).to_be_focused()
    page.keyboard.press("Enter")
    expect(consent.checkbox(INVOICES_AND_BILLS)).to_be_focused()
    assert live_server.consent_records(journey_link.customer_public_id) == []

    consent.tick(FINANCIAL_STATEMENTS, INVOICES_AND_BILLS).agree()


def test_decline_then_reconsider(
    at_consent: ConsentPage, page: Page, journey_link: JourneyLink, live_server: LiveServer
) -> None:
    declined = at_consent.decline()
    assert_accessible(page)

    [run] = live_server.runs(journey_link.customer_public_id)
    assert run.status == "declined"
    assert {r.decision for r in live_server.consent_records(journey_link.customer_public_id)} == {
        "declined"
    }

    consent = declined.review()
    expect(consent.checkbox(FINANCIAL_STATEMENTS)).not_to_be_checked()

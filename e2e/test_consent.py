"""The consent step: required items, the error summary, declining and changing one's mind."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from e2e.accessibility import assert_accessible
from e2e.live import JourneyLink, LiveServer
from e2e.pages import (
    HARBOUR_ACCOUNTS,
    HARBOUR_MARKETING,
    ONGOING_MONITORING,
    ApplyConsentPage,
    ApplyWelcomePage,
    BusinessDetailsPage,
    ConsentPage,
)


def test_the_button_agrees_to_the_required_items_and_says_so(
    at_consent: ConsentPage, journey_link: JourneyLink, live_server: LiveServer
) -> None:
    # No box to tick for what is required: the button beside the statement agrees.
    expect(at_consent.main.get_by_role("checkbox")).to_have_count(1)
    expect(at_consent.main).to_contain_text(
        "By selecting “Agree and continue” you agree to share the items marked Required."
    )
    expect(at_consent.main).to_contain_text("You share what you agree to for 90 days, until ")
    at_consent.agree()
    assert live_server.decisions(journey_link.customer_public_id) == {
        "financial_statements": "granted",
        "invoices_bills": "granted",
        "ongoing_monitoring": "declined",
    }


def test_required_consent_left_unticked(
    page: Page, business_link: JourneyLink, live_server: LiveServer
) -> None:
    """A journey that asks for a tick per required item (``agreement: tick``)."""
    consent = ApplyWelcomePage.open(page, business_link.url).get_started(ApplyConsentPage)
    consent.tick(HARBOUR_MARKETING)
    consent.main.get_by_role("button", name="Agree and continue").click()
    consent = ApplyConsentPage(page)

    # What was ticked stays ticked; the missed box is marked and linked from the summary.
    expect(consent.checkbox(HARBOUR_MARKETING)).to_be_checked()
    expect(consent.checkbox(HARBOUR_ACCOUNTS)).not_to_be_checked()
    expect(consent.checkbox(HARBOUR_ACCOUNTS)).to_have_attribute("aria-invalid", "true")
    problem = consent.error_summary.get_by_role("link", name=HARBOUR_ACCOUNTS)
    expect(problem).to_be_visible()
    assert_accessible(page)

    # The summary's link takes the customer to the box they missed.
    problem.focus()
    expect(problem).to_be_focused()
    page.keyboard.press("Enter")
    expect(consent.checkbox(HARBOUR_ACCOUNTS)).to_be_focused()
    assert live_server.consent_records(business_link.customer_public_id) == []

    consent.tick(HARBOUR_ACCOUNTS).agree(BusinessDetailsPage)


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
    expect(consent.checkbox(ONGOING_MONITORING)).not_to_be_checked()

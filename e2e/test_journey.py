"""The whole journey, link to "You're connected", with and without JavaScript."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

from playwright.sync_api import BrowserContext, Page, expect

from app.consent.ledger import item_text
from app.engine.registry import get_journey
from app.engine.schema import ConsentStep
from app.sandbox.data import ORGANISATIONS
from app.vault import decrypt_json
from e2e.accessibility import assert_accessible
from e2e.live import JourneyLink, LiveServer
from e2e.pages import (
    ONGOING_MONITORING,
    SANDBOX,
    UNAVAILABLE_PLATFORMS,
    WelcomePage,
)


def _shown_texts(live_server: LiveServer) -> dict[str, str]:
    """The exact wording of each consent item of the default journey, by item key."""
    with live_server.app.test_request_context():
        journey = get_journey("default")
        assert journey is not None
        step = journey.first_of("consent")
        assert isinstance(step, ConsentStep)
        return {item.key: item_text(journey, step, item, "en") for item in step.items}


def test_customer_connects_with_javascript(
    page: Page, journey_link: JourneyLink, live_server: LiveServer
) -> None:
    organisation = ORGANISATIONS[1].name

    welcome = WelcomePage.open(page, journey_link.url)
    assert_accessible(page)

    # A marker on the window survives only if htmx swapped the page in place.
    page.evaluate("() => { window.onrampNoFullLoad = true }")
    consent = welcome.get_started()
    expect(page).to_have_url(f"{live_server.url}/journey/consent")
    assert page.evaluate("() => window.onrampNoFullLoad") is True, "step 2 was a full page load"
    # After a swap, focus moves to the new heading so screen readers announce it.
    expect(consent.heading).to_be_focused()
    assert_accessible(page)

    software = consent.tick(ONGOING_MONITORING).agree()
    expect(page).to_have_url(f"{live_server.url}/journey/software")
    expect(software.platform(SANDBOX)).to_be_enabled()
    # What can't be connected here is not offered at all.
    for name in UNAVAILABLE_PLATFORMS:
        expect(software.main.get_by_text(name)).to_have_count(0)
    assert_accessible(page)

    connect = software.choose(SANDBOX)
    assert page.evaluate("() => window.onrampNoFullLoad") is True, "htmx stopped swapping"
    # How to connect is on the page that connects: no "Before you connect" page first.
    expect(connect.how_to).to_contain_text("Continue to Sandbox Accounting")
    assert_accessible(page)

    sign_in = connect.continue_to_sandbox()
    # The connect form is not boosted: the provider's page replaces the whole window.
    expect(page).to_have_url(re.compile(rf"^{re.escape(live_server.url)}/sandbox/authorize\?"))
    assert_accessible(page)

    sandbox_consent = sign_in.sign_in()
    assert_accessible(page)

    done = sandbox_consent.choose(organisation).approve()
    expect(page).to_have_url(f"{live_server.url}/journey/done")
    expect(done.status).to_contain_text(f"Connected to {organisation}")
    assert_accessible(page)

    shown = _shown_texts(live_server)
    records = live_server.consent_records(journey_link.customer_public_id)
    assert sorted((r.item_key, r.decision) for r in records) == sorted(
        (key, "granted") for key in shown
    )
    for record in records:
        assert record.text == shown[record.item_key]
        assert record.text_sha256 == hashlib.sha256(record.text.encode("utf-8")).hexdigest()

    [connection] = live_server.connections(journey_link.customer_public_id)
    assert connection.status == "linked"
    assert connection.org_name == organisation
    assert connection.org_id == ORGANISATIONS[1].id
    assert connection.token_ciphertext
    with live_server.app.app_context():
        token = decrypt_json(connection.token_ciphertext)
    assert token["access_token"] not in connection.token_ciphertext
    assert token["refresh_token"] not in connection.token_ciphertext

    [run] = live_server.runs(journey_link.customer_public_id)
    assert run.status == "completed"


def test_customer_connects_without_javascript(
    new_context: Callable[..., BrowserContext], journey_link: JourneyLink, live_server: LiveServer
) -> None:
    organisation = ORGANISATIONS[0].name
    page = new_context(java_script_enabled=False).new_page()

    done = (
        WelcomePage.open(page, journey_link.url)
        .get_started()
        .agree()
        .choose(SANDBOX)
        .continue_to_sandbox()
        .sign_in()
        .choose(organisation)
        .approve()
    )

    expect(done.status).to_contain_text(f"Connected to {organisation}")
    assert live_server.decisions(journey_link.customer_public_id) == {
        "financial_statements": "granted",
        "invoices_bills": "granted",
        "ongoing_monitoring": "declined",
    }
    [connection] = live_server.connections(journey_link.customer_public_id)
    assert (connection.status, connection.org_name) == ("linked", organisation)

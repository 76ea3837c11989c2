"""Connecting fails at the provider, the customer is told why, and trying again works."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from app.sandbox.data import ORGANISATIONS
from e2e.accessibility import assert_accessible
from e2e.live import JourneyLink, LiveServer
from e2e.pages import ConnectPage


def test_denied_access_then_retry(
    at_connect: ConnectPage, page: Page, journey_link: JourneyLink, live_server: LiveServer
) -> None:
    organisation = ORGANISATIONS[2].name

    connect = at_connect.continue_to_sandbox().sign_in().deny()

    expect(connect.alert).to_contain_text("You chose not to allow access")
    expect(connect.continue_button).to_be_hidden()
    expect(connect.try_again_button).to_be_visible()
    assert_accessible(page)

    # Still signed in at the sandbox: straight to its consent page.
    done = connect.try_again().choose(organisation).approve()

    expect(done.status).to_contain_text(f"Connected to {organisation}")
    connections = live_server.connections(journey_link.customer_public_id)
    assert [(c.status, c.last_error) for c in connections] == [
        ("failed", "access_denied"),
        ("linked", None),
    ]
    assert connections[1].org_name == organisation


def test_provider_error_then_retry(
    at_connect: ConnectPage, page: Page, journey_link: JourneyLink, live_server: LiveServer
) -> None:
    organisation = ORGANISATIONS[0].name

    connect = at_connect.continue_to_sandbox().sign_in().simulate_error()

    expect(connect.alert).to_contain_text("Your accounting software reported a problem")
    expect(connect.try_again_button).to_be_visible()
    assert_accessible(page)

    done = connect.try_again().choose(organisation).approve()

    expect(done.status).to_contain_text(f"Connected to {organisation}")
    connections = live_server.connections(journey_link.customer_public_id)
    assert [(c.status, c.last_error) for c in connections] == [
        ("failed", "provider_error"),
        ("linked", None),
    ]

"""Connecting fails at the provider, the customer is told why, and trying again works."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from app.sandbox.data import ORGANISATIONS
from e2e.accessibility import assert_accessible
from e2e.live import JourneyLink, LiveServer
from e2e.pages import ConnectPage


@pytest.mark.parametrize(
    ("answer", "explanation", "reason"),
    [
        ("deny", "You chose not to allow access", "access_denied"),
        ("simulate_error", "Your accounting software reported a problem", "provider_error"),
    ],
    ids=["denied", "provider-error"],
)
def test_a_failed_connection_is_explained_and_retry_works(
    at_connect: ConnectPage,
    page: Page,
    journey_link: JourneyLink,
    live_server: LiveServer,
    answer: str,
    explanation: str,
    reason: str,
) -> None:
    organisation = ORGANISATIONS[2].name
    sandbox = at_connect.continue_to_sandbox().sign_in()
    connect: ConnectPage = getattr(sandbox, answer)()

    expect(connect.alert).to_contain_text(explanation)
    expect(connect.continue_button).to_be_hidden()
    expect(connect.try_again_button).to_be_visible()
    assert_accessible(page)

    # Still signed in at the sandbox: straight to its consent page.
    done = connect.try_again().choose(organisation).approve()

    expect(done.status).to_contain_text(f"Connected to {organisation}")
    connections = live_server.connections(journey_link.customer_public_id)
    assert [(c.status, c.last_error) for c in connections] == [
        ("failed", reason),
        ("linked", None),
    ]
    assert connections[1].org_name == organisation

"""The journey where the business puts it, and where its colleagues look at it: embedded
in the business's own page, and previewed in the admin console."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from e2e.pages.console import ConsoleJourneys, ConsoleSignIn, preview_banner
from e2e.pages.host import BusinessPage
from e2e.pages.journey import (
    NORTHWIND,
    REQUIRED_KEYS,
    DefaultDone,
    DefaultWelcome,
)
from e2e.uat.api import UatCustomer
from e2e.uat.conftest import Environment
from e2e.uat.test_journeys import ACME

DEFAULT_NAME = "Share your accounts for your loan application"


def _embedding_origin(environment: Environment, journey_id: str) -> str:
    """The first origin the journey lets embed it, as the environment's API says."""
    [journey] = [
        j for j in environment.api.call("GET", "/journeys")["data"] if j["id"] == journey_id
    ]
    if not journey["allowed_origins"]:
        pytest.fail(
            f"Journey {journey_id!r} at {environment.url} allows no page to embed it: give it "
            "integration.allowed_origins (the shipped journeys/default.yaml allows "
            "https://northwind-lending.example).",
            pytrace=False,
        )
    return str(journey["allowed_origins"][0])


def test_embedded_in_the_business_page(
    page: Page, customer: UatCustomer, environment: Environment
) -> None:
    """The journey in a frame on the business's page, the platform's sign-in in a window
    of its own; the page hears each step, and the outcome Onramp recorded."""
    origin = _embedding_origin(environment, "default")
    business = BusinessPage.open(page, origin, environment.url, customer.url("default"))
    expect(business.event("ready")).to_have_count(0)

    frame = business.open_embedded()
    connect = DefaultWelcome(frame).get_started().agree().choose_sandbox()
    connect.open_sandbox_window().sign_in().choose(ACME).approve_closing_window()

    done = DefaultDone(frame)
    expect(done.connected(ACME)).to_be_visible()
    expect(business.event("finished")).to_have_count(1)
    [connection] = customer.connections()
    assert (connection["status"], connection["organisation_name"]) == ("linked", ACME)
    events = dict(business.events())
    assert events["finished"] == {
        "outcome": "linked",
        "customer_id": customer.record()["id"],
        "connection_id": connection["id"],
    }
    assert events["consent"] == {"decision": "granted", "granted": list(REQUIRED_KEYS)}

    # The journey's own way back asks the business's page to close the frame: the click
    # takes its frame away, so nothing is waited for after it but what the page shows.
    done.button(f"Return to {NORTHWIND}").click(no_wait_after=True)
    expect(business.event("closed")).to_have_count(1)
    expect(business.journey_frame).to_have_count(0)


def test_admin_preview(page: Page, admin_login: tuple[str, str]) -> None:
    """A colleague walks the default journey as customers see it, with nothing recorded:
    the connect step says what would happen and moves on."""
    email, password = admin_login
    journeys = (
        ConsoleSignIn.open(page).sign_in(email, password).open_section("Journeys", ConsoleJourneys)
    )
    welcome = journeys.preview("default", DEFAULT_NAME).start_to(DefaultWelcome, "fr")
    expect(preview_banner(page)).to_contain_text("Preview — nothing is recorded")

    connect = welcome.get_started().agree().choose_sandbox()
    expect(connect.main.get_by_role("note")).to_contain_text("Preview: connecting is simulated")
    connect.continue_button.click()

    done = DefaultDone(page, "fr")
    expect(preview_banner(page)).to_be_visible()
    expect(done.status.filter(has_text="Connexion établie")).to_have_count(0)

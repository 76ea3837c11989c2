"""Picking among several organisations when the platform gives access to more than one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from app.sandbox.data import DEMO
from e2e.accessibility import assert_accessible
from e2e.live import JourneyLink, LiveServer
from e2e.pages import ConnectPage, DonePage, Screen
from tests.impersonation import LIST_ORGANISATIONS


class ChooseOrganisationPage(Screen):
    title = "Choose the organisation"

    def choose(self, name: str) -> ChooseOrganisationPage:
        self.main.get_by_role(
            "group", name="Which organisation do you want to connect?"
        ).get_by_role("radio", name=name, exact=True).check()
        return self

    def connect(self) -> DonePage:
        self.main.get_by_role("button", name="Connect this organisation").click()
        return DonePage(self.page)

    def connect_expecting_problem(self) -> ChooseOrganisationPage:
        self.main.get_by_role("button", name="Connect this organisation").click()
        page = ChooseOrganisationPage(self.page)
        expect(page.error_summary).to_be_visible()
        return page


@pytest.fixture
def listing_platform(live_server: LiveServer) -> Iterator[None]:
    """The Sandbox answers like Xero: a list of every organisation the token reaches."""
    live_server.app.config["PLATFORM_OVERRIDES"] = LIST_ORGANISATIONS
    yield
    live_server.app.config["PLATFORM_OVERRIDES"] = {}


def test_the_customer_picks_one_of_several_organisations(
    page: Page,
    at_connect: ConnectPage,
    journey_link: JourneyLink,
    live_server: LiveServer,
    listing_platform: None,
) -> None:
    wanted = DEMO.organisations[2].name
    sandbox = at_connect.continue_to_sandbox().sign_in().choose(DEMO.organisations[0].name)
    sandbox.main.get_by_role("button", name="Approve").click()
    chooser = ChooseOrganisationPage(page)
    for organisation in DEMO.organisations:
        expect(
            chooser.main.get_by_role("radio", name=organisation.name, exact=True)
        ).to_be_visible()
    assert_accessible(page)

    chooser = chooser.connect_expecting_problem()
    assert_accessible(page)

    done = chooser.choose(wanted).connect()
    expect(done.status).to_contain_text(f"Connected to {wanted}")
    [connection] = live_server.connections(journey_link.customer_public_id)
    assert (connection.status, connection.org_name) == ("linked", wanted)

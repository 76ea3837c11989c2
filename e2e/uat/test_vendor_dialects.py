"""Connecting Xero, QuickBooks and Sage as a customer would, with the Sandbox playing each
vendor in its own dialect: the vendor's endpoints, scopes, redirect parameters, token
fields and organisation look-up (Xero's array of connections, QuickBooks' realmId and
CompanyInfo, Sage's ``$items``). The environment must let the Sandbox play them:
``ONRAMP_SANDBOX_PLAYS=xero,quickbooks,sage`` (the suite's own server does)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from app.sandbox.data import DEMO
from app.sandbox.dialects import dialect_organisation_id
from e2e.accessibility import assert_accessible
from e2e.pages.journey import (
    ChooseOrganisation,
    DefaultConnect,
    DefaultDone,
    DefaultWelcome,
)
from e2e.uat.api import UatCustomer
from e2e.uat.test_journeys import BLUEBELL

PLAYED = {
    "xero": "Xero",
    "quickbooks": "QuickBooks Online",
    "sage": "Sage Business Cloud Accounting",
}
# Sage lists every business the user has: the customer then picks theirs in Onramp.
LISTS_EVERY_ORGANISATION = {"sage"}


@pytest.mark.parametrize("platform", sorted(PLAYED))
def test_connect_through_a_vendors_dialect(
    page: Page, customer: UatCustomer, platform: str
) -> None:
    name = PLAYED[platform]
    software = DefaultWelcome.open(page, customer.url("default")).get_started().agree()
    if software.platform(name).count() == 0:
        pytest.fail(
            f"{name} is not offered here: set ONRAMP_SANDBOX_PLAYS=xero,quickbooks,sage,"
            "freeagent on the environment under test so that the Sandbox plays it.",
            pytrace=False,
        )
    connect = software.choose_to(DefaultConnect, name=name)
    assert isinstance(connect, DefaultConnect)
    consent = connect.continue_to_platform(name).sign_in()
    # The Sandbox says which vendor it plays (in its own words for the vendor).
    playing = consent.main.get_by_text(re.compile(r"^Sandbox Accounting, playing \w"))
    expect(playing).to_contain_text(name.split()[0])
    assert_accessible(page)

    consent.choose(BLUEBELL)
    if platform in LISTS_EVERY_ORGANISATION:
        chooser = consent.approve_to(ChooseOrganisation)
        for organisation in DEMO.organisations:
            expect(chooser.organisation(organisation.name)).to_be_visible()
        assert_accessible(page)
        done = chooser.connect_to(BLUEBELL, DefaultDone)
    else:
        done = consent.approve_to(DefaultDone)

    expect(done.connected(BLUEBELL)).to_be_visible()
    [connection] = customer.connections()
    bluebell = next(org for org in DEMO.organisations if org.name == BLUEBELL)
    assert (connection["platform"], connection["status"]) == (platform, "linked")
    # The id as the vendor forms it (a Xero tenantId, a QuickBooks realmId, a Sage GUID).
    assert connection["organisation_id"] == dialect_organisation_id(platform, bluebell)
    assert connection["organisation_name"] == BLUEBELL

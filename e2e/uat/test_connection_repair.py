"""A connection that breaks after connecting, each way the Sandbox can break it, noticed
by the worker and repaired by the customer in one click, keeping the connection the
business already knows.

The environment's worker must run with short intervals (docs/uat.md); the suite's own
server runs one beside it. The breaks made through a platform the Sandbox plays need it
to play them (ONRAMP_SANDBOX_PLAYS), and the change notifications need their keys."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from playwright.sync_api import Locator, Page, expect

from e2e.pages.account import AccountOverview
from e2e.pages.journey import SANDBOX, DefaultConnect, DefaultDone, DefaultWelcome, Reconnected
from e2e.pages.sandbox import ConnectedApps, SandboxConsent
from e2e.uat.api import UatCustomer
from e2e.uat.test_journeys import ACME, BLUEBELL, connect_default

# Far more than the worker needs (a health check every few seconds), short enough to say
# clearly that the environment's worker is not looking after connections.
NOTICED_WITHIN_SECONDS = 60


def _until_noticed(
    page: Page, platform: str = SANDBOX, within: int = NOTICED_WITHIN_SECONDS
) -> AccountOverview:
    """Come back to the customer's page now and then, as a person would, until it says
    the connection needs reconnecting."""
    deadline = time.monotonic() + within
    while True:
        page.goto("/my")
        account = AccountOverview(page)
        if account.connection(platform).filter(has_text="Needs reconnecting").count():
            return account
        assert time.monotonic() < deadline, (
            "the broken connection was not noticed: is the environment's worker running "
            "with short intervals (docs/uat.md)?"
        )
        page.wait_for_timeout(1000)


def test_revoked_at_the_platform_then_repaired_in_one_click(
    page: Page, customer: UatCustomer, worker: None
) -> None:
    connect_default(page, customer, ACME)
    [connected] = customer.connections()

    # The customer takes the access away at their accounting platform.
    ConnectedApps.open(page).revoke(ACME)

    account = _until_noticed(page)
    expect(account.connection(SANDBOX)).to_contain_text(ACME)
    [broken] = customer.connections()
    assert (broken["id"], broken["status"]) == (connected["id"], "deauthorized")
    assert broken["last_error"] in ("revoked_at_provider", "refresh_refused")

    _reconnect_in_one_click(account, customer, SANDBOX, ACME, keeping=connected["id"])


def _reconnect_in_one_click(
    account: AccountOverview, customer: UatCustomer, platform: str, organisation: str, keeping: str
) -> None:
    """One click: back at the platform, signed in still, the same organisation approved,
    and the same connection linked again."""
    account.reconnect(platform, organisation)
    SandboxConsent(account.tab, back=Reconnected).choose(organisation).approve_to(Reconnected)

    [repaired] = customer.connections()
    assert (repaired["id"], repaired["status"]) == (keeping, "linked")
    account.tab.goto("/my")
    expect(AccountOverview(account.tab).connection(platform)).to_contain_text("Connected")


def _offered(button: Locator, what: str) -> None:
    """The Sandbox's page offers this break here, or the scenario says what to set."""
    if button.count() == 0:
        pytest.fail(
            f"The Sandbox's Connected apps page offers no {what!r} here: see "
            "docs/uat.md (Connected apps) for what the environment must set.",
            pytrace=False,
        )


def _expire_in_a_minute(page: Page, playing: str | None) -> None:
    ConnectedApps.open(page).expire_refresh_token(BLUEBELL, in_minutes=1, playing=playing)


def _remove_the_organisation(page: Page, playing: str | None) -> None:
    ConnectedApps.open(page).remove_organisation(BLUEBELL, playing)


def _disconnect_inside(page: Page, playing: str | None) -> None:
    assert playing is not None
    apps = ConnectedApps.open(page)
    _offered(apps.disconnect_button(BLUEBELL, playing), f"Disconnect in {playing}")
    # The platform sends the customer to Onramp's Disconnect URL, and on to their page.
    apps.disconnect_inside(BLUEBELL, playing).go_to_your_page()


def _remove_and_notify(page: Page, playing: str | None) -> None:
    # The organisation goes (its section stays: the app's keys still work), and the
    # platform's signed webhook about it tells Onramp to look now.
    assert playing is not None
    apps = ConnectedApps.open(page)
    _offered(apps.notify_button(BLUEBELL, playing), "Send a change notification")
    apps = apps.remove_organisation(BLUEBELL, playing)
    apps = apps.send_change_notification(BLUEBELL, playing)
    expect(apps.status).to_contain_text("was sent: the receiver answered 200")


@dataclass(frozen=True)
class Break:
    """One way of breaking a connection at the Sandbox's Connected apps page."""

    # The platform the Sandbox plays for it (None: the Sandbox itself).
    playing: str | None
    make: Callable[[Page, str | None], None]
    # What the API then says (last_error), and the customer's page in plain words.
    reason: str
    words: str
    # Access tokens that expire within minutes, so that the worker keeps refreshing them
    # (and so hears when the refresh token expires); the break comes this much later.
    short_lived: bool = False
    comes_after: int = 0


REMOVED_AT_THE_PLATFORM = "access was removed in your accounting software"
ORGANISATION_REMOVED = (
    "organisation_removed",
    "the organisation can no longer be reached with the sign-in used",
)
BREAKS = {
    "refresh token expired": Break(
        None,
        _expire_in_a_minute,
        "refresh_expired",
        "access reached the longest time your software allows",
        short_lived=True,
        comes_after=60,
    ),
    "organisation removed": Break(None, _remove_the_organisation, *ORGANISATION_REMOVED),
    "disconnected inside QuickBooks": Break(
        "QuickBooks Online", _disconnect_inside, "revoked_at_provider", REMOVED_AT_THE_PLATFORM
    ),
    "Xero's change notification": Break("Xero", _remove_and_notify, *ORGANISATION_REMOVED),
    "Intuit's change notification": Break(
        "QuickBooks Online", _remove_and_notify, *ORGANISATION_REMOVED
    ),
}


def _connect(page: Page, customer: UatCustomer, platform: str, short_lived: bool) -> None:
    """The default journey, every item agreed, connecting Bluebell Bakery Ltd through
    ``platform`` (the Sandbox, or a platform it plays)."""
    software = (
        DefaultWelcome.open(page, customer.url("default"))
        .get_started()
        .tick_keys("ongoing_monitoring")
        .agree()
    )
    if software.platform(platform).count() == 0:
        pytest.fail(
            f"{platform} is not offered here: set ONRAMP_SANDBOX_PLAYS=xero,quickbooks,sage,"
            "freeagent on the environment under test so that the Sandbox plays it.",
            pytrace=False,
        )
    consent = (
        software.choose_to(DefaultConnect, name=platform)
        .continue_to_platform(platform)
        .sign_in()
        .choose(BLUEBELL)
    )
    if short_lived:
        consent.short_lived_access()
    expect(consent.approve_to(DefaultDone).connected(BLUEBELL)).to_be_visible()


@pytest.mark.parametrize("way", list(BREAKS))
def test_broken_at_the_platform_then_repaired_in_one_click(
    page: Page, customer: UatCustomer, worker: None, way: str
) -> None:
    broken_by = BREAKS[way]
    platform = broken_by.playing or SANDBOX
    _connect(page, customer, platform, broken_by.short_lived)
    [connected] = customer.connections()

    # The tester breaks it at the platform, from the Sandbox's Connected apps page.
    broken_by.make(page, broken_by.playing)

    account = _until_noticed(page, platform, NOTICED_WITHIN_SECONDS + broken_by.comes_after)
    # What broke, in plain words, beside the organisation's name.
    expect(account.connection(platform)).to_contain_text(BLUEBELL)
    expect(account.connection(platform)).to_contain_text(f"Needs reconnecting: {broken_by.words}")
    [broken] = customer.connections()
    assert (broken["id"], broken["status"], broken["last_error"]) == (
        connected["id"],
        "deauthorized",
        broken_by.reason,
    )
    if broken_by.reason == "refresh_expired":
        # The worker heard when the refresh token would expire before it did.
        assert broken["refresh_expires_at"] is not None

    _reconnect_in_one_click(account, customer, platform, BLUEBELL, keeping=connected["id"])

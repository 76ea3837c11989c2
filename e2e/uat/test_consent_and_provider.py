"""What can go wrong on the way: a consent declined, the provider refusing, failing or
answering slowly, a login with several organisations to choose from, the wrong one
chosen on reconnect, and access that is revoked at the platform after connecting."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from e2e.pages.journey import (
    REQUIRED_KEYS,
    DefaultConnect,
    DefaultDone,
    DefaultWelcome,
    Reconnected,
    ReconnectWelcome,
    SignInAgain,
)
from e2e.pages.sandbox import ConnectedApps, SandboxConsent
from e2e.uat.api import UatCustomer
from e2e.uat.test_journeys import ACME, BLUEBELL, NORTHWIND_CONSULTING, connect_default


def test_the_optional_item_left_unticked(page: Page, customer: UatCustomer) -> None:
    consent = DefaultWelcome.open(page, customer.url("default")).get_started()
    # The required items have no box: "Agree and continue" agrees to them, and says so.
    expect(consent.main).to_contain_text(
        "By selecting “Agree and continue” you agree to share the items marked Required."
    )
    for key in REQUIRED_KEYS:
        expect(consent.item(key)).to_have_count(0)

    done = consent.agree_and_connect(ACME)

    expect(done.connected(ACME)).to_be_visible()
    assert customer.decisions() == {
        "financial_statements": "granted",
        "invoices_bills": "granted",
        "ongoing_monitoring": "declined",
    }
    assert customer.statuses() == [("linked", ACME)]


def test_declining_shares_nothing(page: Page, customer: UatCustomer) -> None:
    consent = DefaultWelcome.open(page, customer.url("default")).get_started()
    # Ticked, then declined: declining refuses everything.
    consent.tick_keys("ongoing_monitoring")

    declined_page = consent.decline()

    expect(declined_page.heading).to_be_visible()
    assert set(customer.decisions().values()) == {"declined"}
    assert [run["status"] for run in customer.runs()] == ["declined"]
    assert customer.connections() == []


def _at_sandbox(page: Page, customer: UatCustomer) -> SandboxConsent:
    return (
        DefaultWelcome.open(page, customer.url("default"))
        .get_started()
        .agree()
        .choose_sandbox()
        .continue_to_sandbox()
        .sign_in()
    )


def test_cancel_at_the_provider(page: Page, customer: UatCustomer) -> None:
    connect = _at_sandbox(page, customer).deny()

    assert isinstance(connect, DefaultConnect)
    expect(connect.alert).to_contain_text("You chose not to allow access")
    expect(connect.continue_button).to_be_hidden()
    expect(connect.try_again_button).to_be_visible()
    assert customer.statuses() == [("failed", None)]
    assert customer.connections()[0]["last_error"] == "access_denied"


def test_provider_error_then_retry(page: Page, customer: UatCustomer) -> None:
    connect = _at_sandbox(page, customer).simulate_error()
    expect(connect.alert).to_contain_text("Your accounting software reported a problem")

    done = connect.try_again().choose(BLUEBELL).approve_to(DefaultDone)

    expect(done.connected(BLUEBELL)).to_be_visible()
    assert customer.statuses() == [("failed", None), ("linked", BLUEBELL)]
    assert customer.connections()[0]["last_error"] == "provider_error"


def test_choose_among_several_organisations(page: Page, customer: UatCustomer) -> None:
    sandbox = _at_sandbox(page, customer)
    expect(sandbox.organisations).to_have_count(3)

    # Approving without choosing is refused by the provider, then the third is chosen.
    sandbox = sandbox.approve_expecting_problem()
    expect(sandbox.error_summary).to_contain_text("Choose the organisation to connect")
    done = sandbox.choose(NORTHWIND_CONSULTING).approve_to(DefaultDone)

    expect(done.connected(NORTHWIND_CONSULTING)).to_be_visible()
    [connection] = customer.connections()
    assert (connection["status"], connection["organisation_name"]) == (
        "linked",
        NORTHWIND_CONSULTING,
    )


def test_slow_provider_response(page: Page, customer: UatCustomer) -> None:
    """The platform takes seconds to hand over its keys: the customer waits on its page,
    then arrives connected, once."""
    done = _at_sandbox(page, customer).choose(ACME).answer_slowly().approve_to(DefaultDone)

    expect(done.connected(ACME)).to_be_visible()
    assert customer.statuses() == [("linked", ACME)]
    assert [run["status"] for run in customer.runs()] == ["completed"]


def test_slow_provider_response_reloaded_while_waiting(page: Page, customer: UatCustomer) -> None:
    """An impatient customer reloads while the slow platform is still answering: they are
    told it is being finished, and the attempt is not failed under them."""
    connect = (
        _at_sandbox(page, customer).choose(ACME).answer_slowly().approve_and_reload_while_waiting()
    )
    expect(connect.finishing_notice).to_contain_text(
        "Sandbox Accounting has answered and we're completing the connection."
    )

    assert customer.wait_for_statuses([("linked", ACME)]) == [("linked", ACME)]
    done = connect.check_again_to(DefaultDone)
    expect(done.connected(ACME)).to_be_visible()
    assert [run["status"] for run in customer.runs()] == ["completed"]


def test_wrong_organisation_on_reconnect(page: Page, customer: UatCustomer) -> None:
    """A reconnect link brings back the organisation it was made for: choosing another
    is refused, explained, and changes nothing; choosing the right one reconnects."""
    connect_default(page, customer, ACME)
    [connection] = customer.connections()

    sign_in_again = ReconnectWelcome.open(
        page, customer.reconnect_url(connection["id"])
    ).get_started_to(SignInAgain)  # the platform is the connection's: no picker
    refused = sign_in_again.continue_to_sandbox_signed_in().choose(BLUEBELL).approve_to(SignInAgain)

    expect(refused.alert).to_contain_text("That's a different organisation")
    expect(refused.alert).to_contain_text(f"You chose {BLUEBELL}, but this link reconnects {ACME}.")
    assert customer.statuses() == [("linked", ACME), ("failed", BLUEBELL)]
    assert customer.connections()[1]["last_error"] == "different_organisation"

    done = refused.try_again().choose(ACME).approve_to(Reconnected)
    expect(done.connected(ACME)).to_be_visible()
    # The same connection is linked again: the id the business stores is kept.
    assert customer.statuses() == [("linked", ACME), ("failed", BLUEBELL)]
    assert customer.connections()[0]["id"] == connection["id"]
    assert [run["journey_id"] for run in customer.runs()] == ["default", "reconnect"]


def test_a_refresh_that_later_fails(page: Page, customer: UatCustomer) -> None:
    """The business's data pipeline keeps a short-lived access fresh until the customer
    revokes it at the platform; then Onramp says the customer must connect again.

    Revoking ends every connection to Northwind Consulting LLP made with the Sandbox's
    test login, so no other scenario relies on that organisation staying connected.
    """
    done = (
        _at_sandbox(page, customer)
        .choose(NORTHWIND_CONSULTING)
        .short_lived_access()
        .approve_to(DefaultDone)
    )
    expect(done.connected(NORTHWIND_CONSULTING)).to_be_visible()
    [connection] = customer.connections()

    # Each ask refreshes the token first, because it expires within Onramp's lead time.
    issued = [customer.credentials(connection["id"]) for _ in range(2)]
    assert [answer.status_code for answer in issued] == [200, 200]
    first, second = (answer.json() for answer in issued)
    assert first["access_token"] != second["access_token"]
    assert first["organisation_id"] == second["organisation_id"]

    apps = ConnectedApps.open(page).revoke(NORTHWIND_CONSULTING)
    expect(apps.status).to_contain_text(
        f"Northwind Lending can no longer read {NORTHWIND_CONSULTING}."
    )

    refused = customer.credentials(connection["id"])
    assert refused.status_code == 409
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert refused.json()["detail"].endswith("the customer must connect again.")
    [ended] = customer.connections()
    assert (ended["status"], ended["last_error"]) == ("deauthorized", "refresh_refused")

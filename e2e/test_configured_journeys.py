"""The journeys of journeys/ other than the default one in English, link to the last step.

Harbour Capital's application (business.yaml) asks for details, shows a step only to
limited companies, lets the customer check and change their answers and connect more
than one organisation; the reconnect journey is three steps; the default journey is
taken in French, and its language switcher tried.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import g
from playwright.sync_api import BrowserContext, Page, expect
from sqlalchemy import update

from app.consent.ledger import item_text
from app.engine.registry import get_journey
from app.engine.schema import ConsentStep
from app.extensions import db
from app.links import journey_link
from app.models import Connection
from app.sandbox.data import ORGANISATIONS
from e2e.accessibility import assert_accessible
from e2e.live import JourneyLink, LiveServer
from e2e.pages import (
    DE_FINANCIAL_STATEMENTS,
    DE_ONGOING_MONITORING,
    FR_FINANCIAL_STATEMENTS,
    FR_ONGOING_MONITORING,
    HARBOUR,
    HARBOUR_ACCOUNTS,
    HARBOUR_MARKETING,
    SANDBOX,
    ApplicationReceivedPage,
    ApplyConsentPage,
    ApplyInstructionsPage,
    ApplySoftwarePage,
    ApplyWelcomePage,
    BusinessDetailsPage,
    CheckAnswersPage,
    ConfiguredStep,
    ConnectAccountsPage,
    FrenchConnectPage,
    FrenchConsentPage,
    FrenchDonePage,
    FrenchSoftwarePage,
    FrenchWelcomePage,
    GermanConsentPage,
    LimitedCompanyPage,
    ReconnectedPage,
    ReconnectingPage,
    ReconnectSoftwarePage,
    ReconnectWelcomePage,
    SandboxConsentFromJourney,
    SignInAgainPage,
)

DETAILS = "About your business"
DETAILS_QUESTIONS = [
    "Registered business name",
    "Type of business",
    "Contact email address",
    "Phone number",
    "Number of employees",
    "Trading since",
    "Annual turnover",
    "The business is registered for VAT",
]


def expect_position(step: ConfiguredStep, label: str) -> None:
    """The progress text and the progress bar both say where the customer is."""
    expect(step.progress_label).to_have_text(label)
    expect(step.progress_bar).to_have_accessible_name(label)


def expect_branded_for_harbour(step: ConfiguredStep) -> None:
    """Harbour Capital's logo in the header, and its colour as the page's brand colour."""
    expect(step.logo).to_be_visible()
    expect(step.logo).to_have_js_property("complete", True)
    assert step.logo.evaluate("img => img.naturalWidth") > 0, "the logo did not load"
    brand = step.page.evaluate(
        "() => getComputedStyle(document.documentElement).getPropertyValue('--brand')"
    )
    assert brand.strip() == "#0b5c4a"


def html_lang(page: Page) -> str:
    lang: str = page.evaluate("() => document.documentElement.lang")
    return lang


def consent_texts(live_server: LiveServer, journey_id: str, locale: str) -> dict[str, str]:
    """The wording of each consent item of a journey in a language, by item key."""
    with live_server.app.test_request_context():
        g.locale = locale  # Onramp's own words (Why, Required…) in that language too
        journey = get_journey(journey_id)
        assert journey is not None
        step = journey.first_of("consent")
        assert isinstance(step, ConsentStep)
        return {item.key: item_text(journey, step, item, locale) for item in step.items}


def test_limited_company_applies_and_connects_two_organisations(
    page: Page, business_link: JourneyLink, live_server: LiveServer
) -> None:
    first, second = ORGANISATIONS[0].name, ORGANISATIONS[1].name

    welcome = ApplyWelcomePage.open(page, business_link.url)
    expect_branded_for_harbour(welcome)
    assert_accessible(page)

    consent = welcome.get_started(ApplyConsentPage)
    details = consent.tick(HARBOUR_ACCOUNTS).agree(BusinessDetailsPage)
    # The company step is counted until the answers show it isn't needed.
    expect_position(details, "Step 3 of 9")
    assert_accessible(page)

    # Mistakes first: no name, an email address that isn't one, a negative headcount.
    details.field("Contact email address").fill("finance.quayside.example")
    details.field("Number of employees").fill("-3")
    details = details.continue_expecting_problem()
    expect(page).to_have_title(f"Error: {DETAILS} · {HARBOUR}")
    expect(details.error_summary.get_by_role("link")).to_have_text(
        [
            "Enter your registered business name",
            "Choose the type of business",
            "Enter an email address like name@example.com",
            "The number of employees must be between 0 and 100,000",
            "Choose your annual turnover",
        ]
    )
    email = details.field("Contact email address")
    expect(email).to_have_value("finance.quayside.example")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_have_accessible_description("Enter an email address like name@example.com")
    assert_accessible(page)

    # Each link of the summary takes the customer to the field to correct.
    details.error_summary.get_by_role("link", name="Enter your registered business name").click()
    expect(details.field("Registered business name")).to_be_focused()
    details.error_summary.get_by_role(
        "link", name="The number of employees must be between 0 and 100,000"
    ).click()
    expect(details.field("Number of employees")).to_be_focused()

    details.field("Registered business name").fill("Quayside Provisions Ltd")
    details.option("Limited company").check()
    email.fill("finance@quayside.example")
    details.field("Number of employees").fill("12")
    details.field("Trading since").fill("2019-04-01")
    details.field("Annual turnover").select_option(label="£100,000 to £1 million")
    details.checkbox("The business is registered for VAT").check()

    # Only a limited company is asked for its registration number, which adds a step.
    company = details.continue_(LimitedCompanyPage)
    expect_position(company, "Step 4 of 9")
    registration = company.field("Company registration number")
    expect(registration).to_have_accessible_description(
        "8 characters, for example 01234567 or SC123456"
    )
    assert_accessible(page)

    registration.fill("SC1234")
    company = company.continue_expecting_problem()
    expect(company.error_summary.get_by_role("link")).to_have_text(
        ["Enter the 8-character company registration number, like 01234567"]
    )
    registration.fill("SC123456")

    software = company.continue_(ApplySoftwarePage)
    expect_position(software, "Step 5 of 9")
    expect(software.platform("Xero")).to_have_count(0)  # not configured here: not offered
    review = software.choose_to(CheckAnswersPage)
    expect_position(review, "Step 6 of 9")
    expect(review.questions("What you agree to share")).to_have_text(
        [HARBOUR_ACCOUNTS, HARBOUR_MARKETING]
    )
    expect(review.answers("What you agree to share")).to_have_text(
        ["You agree to share this", "You declined"]
    )
    expect(review.questions(DETAILS)).to_have_text(DETAILS_QUESTIONS)
    expect(review.answers(DETAILS)).to_have_text(
        [
            "Quayside Provisions Ltd",
            "Limited company",
            "finance@quayside.example",
            "Not given",
            "12",
            "April 1, 2019",
            "£100,000 to £1 million",
            "Yes",
        ]
    )
    expect(review.answers("Your limited company")).to_have_text(["SC123456"])
    expect(review.answers("Choose your accounting software")).to_have_text([SANDBOX])
    assert_accessible(page)

    # Change an answer; the steps after it keep what was given, so it's straight back.
    details = review.change(DETAILS, BusinessDetailsPage)
    expect(details.field("Number of employees")).to_have_value("12")
    expect(details.option("Limited company")).to_be_checked()
    details.field("Number of employees").fill("40")
    review = details.continue_(CheckAnswersPage)
    expect(
        review.answers(DETAILS).nth(DETAILS_QUESTIONS.index("Number of employees"))
    ).to_have_text("40")

    # The journey's own instructions for the sandbox, not Onramp's.
    instructions = review.confirm(ApplyInstructionsPage)
    expect_position(instructions, "Step 7 of 9")
    expect(instructions.main).to_contain_text(f"How to connect {SANDBOX}:")
    expect(instructions.main.get_by_role("listitem")).to_have_text(
        [
            f"Select Continue to {SANDBOX}.",
            "Sign in with the test login Harbour Capital gave you.",
            "Choose an organisation and select Approve.",
        ]
    )
    expect(instructions.main).to_contain_text("you can connect each of them, one after the other.")
    expect(instructions.main).not_to_contain_text("practice accounting platform")
    assert_accessible(page)

    connect = instructions.ready(ConnectAccountsPage)
    expect_position(connect, "Step 8 of 9")
    expect(connect.connected_so_far).to_have_count(0)
    assert_accessible(page)

    connect = (
        connect.continue_to_sandbox().sign_in().choose(first).approve_into(ConnectAccountsPage)
    )
    expect(connect.connected_so_far.get_by_role("listitem")).to_have_text([f"{first} ({SANDBOX})"])
    assert_accessible(page)

    # The sandbox remembers the sign-in: straight to choosing the next organisation.
    connect = connect.connect_another().choose(second).approve_into(ConnectAccountsPage)
    expect(connect.connected_so_far.get_by_role("listitem")).to_have_text(
        [f"{first} ({SANDBOX})", f"{second} ({SANDBOX})"]
    )

    done = connect.continue_(ApplicationReceivedPage)
    expect_position(done, "Step 9 of 9")
    expect(done.connected(first)).to_be_visible()
    expect(done.connected(second)).to_be_visible()
    expect(done.return_link("Back to Harbour Capital")).to_have_attribute(
        # Back to the business, with how the journey ended (docs/embedding.md).
        "href",
        re.compile(
            r"^https://harbour-capital\.example/applications\?outcome=linked&customer_id=[-0-9a-f]+&connection_id="
        ),
    )
    expect_branded_for_harbour(done)
    assert_accessible(page)

    connections = live_server.connections(business_link.customer_public_id)
    assert [(c.status, c.org_name) for c in connections] == [
        ("linked", first),
        ("linked", second),
    ]
    [run] = live_server.runs(business_link.customer_public_id)
    assert run.status == "completed"
    assert run.answers["details"]["employees"] == 40
    assert run.answers["details"]["vat_registered"] is True
    assert run.answers["company"] == {"registration_number": "SC123456"}
    assert run.answers["connect"]["connections"] == [c.public_id for c in connections]


def test_sole_trader_skips_the_company_step_without_javascript(
    new_context: Callable[..., BrowserContext],
    business_link: JourneyLink,
    live_server: LiveServer,
) -> None:
    organisation = ORGANISATIONS[2].name
    page = new_context(java_script_enabled=False).new_page()

    details = (
        ApplyWelcomePage.open(page, business_link.url)
        .get_started(ApplyConsentPage)
        .tick(HARBOUR_ACCOUNTS)
        .agree(BusinessDetailsPage)
    )
    details.field("Registered business name").fill("Jo Bloggs Plumbing")
    details.option("Sole trader").check()
    details.field("Contact email address").fill("jo@bloggs-plumbing.example")
    details.field("Number of employees").fill("0")
    details.field("Annual turnover").select_option(label="Under £100,000")

    software = details.continue_(ApplySoftwarePage)
    expect_position(software, "Step 4 of 8")

    review = software.choose_to(CheckAnswersPage)
    expect_position(review, "Step 5 of 8")
    expect(review.section("Your limited company")).to_have_count(0)
    expect(review.answers(DETAILS).nth(DETAILS_QUESTIONS.index("Type of business"))).to_have_text(
        "Sole trader"
    )

    connect = review.confirm(ApplyInstructionsPage).ready(ConnectAccountsPage)
    expect_position(connect, "Step 7 of 8")
    connect = (
        connect.continue_to_sandbox()
        .sign_in()
        .choose(organisation)
        .approve_into(ConnectAccountsPage)
    )
    expect(connect.connected_so_far).to_contain_text(organisation)

    done = connect.continue_(ApplicationReceivedPage)
    expect_position(done, "Step 8 of 8")
    expect(done.connected(organisation)).to_be_visible()

    [run] = live_server.runs(business_link.customer_public_id)
    assert run.status == "completed"
    assert "company" not in run.answers
    [connection] = live_server.connections(business_link.customer_public_id)
    assert (connection.status, connection.org_name) == ("linked", organisation)


def test_default_journey_in_french(
    page: Page, french_link: JourneyLink, live_server: LiveServer
) -> None:
    organisation = ORGANISATIONS[1].name

    welcome = FrenchWelcomePage.open(page, french_link.url)
    assert html_lang(page) == "fr"
    expect_position(welcome, "Étape 1 sur 5")
    expect(welcome.language("Français")).to_have_attribute("aria-current", "true")
    assert_accessible(page)

    consent = welcome.get_started(FrenchConsentPage)
    expect_position(consent, "Étape 2 sur 5")
    expect(consent.main).to_contain_text(
        "En sélectionnant «\u00a0Accepter et continuer\u00a0», vous acceptez de partager"
    )
    expect(consent.checkbox(FR_ONGOING_MONITORING)).not_to_be_checked()
    assert_accessible(page)

    software = consent.agree(FrenchSoftwarePage)
    expect_position(software, "Étape 3 sur 5")

    connect = software.choose_to(FrenchConnectPage)
    expect(connect.main).to_contain_text("Sandbox Accounting est une plateforme comptable d'essai")
    expect(connect.main).to_contain_text(
        "Vous vous connecterez sur le site de votre logiciel de comptabilité"
    )
    done = connect.continue_to_sandbox().sign_in().choose(organisation).approve_into(FrenchDonePage)
    expect_position(done, "Étape 5 sur 5")
    expect(done.connected(organisation)).to_be_visible()
    assert_accessible(page)

    # The ledger keeps what the customer read: the French wording.
    shown = consent_texts(live_server, "default", "fr")
    records = live_server.consent_records(french_link.customer_public_id)
    assert sorted((r.item_key, r.decision, r.locale) for r in records) == [
        ("financial_statements", "granted", "fr"),
        ("invoices_bills", "granted", "fr"),
        ("ongoing_monitoring", "declined", "fr"),
    ]
    for record in records:
        assert record.text == shown[record.item_key]
    financial = next(r for r in records if r.item_key == "financial_statements")
    assert financial.text.startswith(f"{FR_FINANCIAL_STATEMENTS}\nPourquoi")
    # Agreed by the button, and the record keeps what the button said beside it.
    assert financial.text.endswith(
        "\nObligatoire\nEn sélectionnant «\u00a0Accepter et continuer\u00a0», vous acceptez "
        "de partager les éléments marqués Obligatoire."
    )
    [run] = live_server.runs(french_link.customer_public_id)
    assert (run.status, run.locale) == ("completed", "fr")


@pytest.mark.parametrize(
    "javascript",
    [
        pytest.param(True, id="js"),
        pytest.param(False, id="no-js"),
    ],
)
def test_language_switcher_keeps_the_step(
    new_context: Callable[..., BrowserContext], french_link: JourneyLink, javascript: bool
) -> None:
    page = new_context(java_script_enabled=javascript).new_page()
    consent = FrenchWelcomePage.open(page, french_link.url).get_started(FrenchConsentPage)

    german = consent.switch_language("Deutsch", GermanConsentPage)
    expect_position(german, "Schritt 2 von 5")
    expect(german.main.get_by_role("heading", name=DE_FINANCIAL_STATEMENTS)).to_be_visible()
    expect(german.checkbox(DE_ONGOING_MONITORING)).to_be_visible()
    expect(german.language("Deutsch")).to_have_attribute("aria-current", "true")
    assert html_lang(page) == "de"
    if javascript:
        assert_accessible(page)

    french = german.switch_language("Français", FrenchConsentPage)
    expect(french.checkbox(FR_ONGOING_MONITORING)).to_be_visible()
    assert html_lang(page) == "fr"


def test_reconnect_journey(
    page: Page, reconnect_link: JourneyLink, live_server: LiveServer
) -> None:
    organisation = ORGANISATIONS[0].name

    welcome = ReconnectWelcomePage.open(page, reconnect_link.url)
    expect_position(welcome, "Step 1 of 4")
    expect(welcome.main).to_contain_text("nothing you agreed to changes")
    assert_accessible(page)

    software = welcome.get_started(ReconnectSoftwarePage)
    expect_position(software, "Step 2 of 4")
    expect(software.platform("QuickBooks Online")).to_have_count(0)

    connect = software.choose_to(SignInAgainPage)
    expect_position(connect, "Step 3 of 4")
    expect(connect.main).to_contain_text(
        "Sign in to your accounting software and approve access again."
    )

    done = (
        connect.continue_to_sandbox().sign_in().choose(organisation).approve_into(ReconnectedPage)
    )
    expect_position(done, "Step 4 of 4")
    expect(done.connected(organisation)).to_be_visible()
    expect(done.return_link("Back to your Northwind account")).to_have_attribute(
        # Back to the business, with how the journey ended (docs/embedding.md).
        "href",
        re.compile(
            r"^https://northwind-lending\.example/account\?outcome=linked&customer_id=[-0-9a-f]+&connection_id="
        ),
    )
    assert_accessible(page)

    # Consent is already on record: the reconnect journey asks for none.
    assert live_server.consent_records(reconnect_link.customer_public_id) == []
    [connection] = live_server.connections(reconnect_link.customer_public_id)
    assert (connection.status, connection.org_name) == ("linked", organisation)
    [run] = live_server.runs(reconnect_link.customer_public_id)
    assert run.status == "completed"


def test_reconnecting_warns_about_a_different_organisation(
    page: Page, reconnect_link: JourneyLink, live_server: LiveServer
) -> None:
    """A deauthorized connection is renewed from a link; another company is refused."""
    original, other = ORGANISATIONS[0].name, ORGANISATIONS[2].name
    welcome = ReconnectWelcomePage.open(page, reconnect_link.url)
    (
        welcome.get_started(ReconnectSoftwarePage)
        .choose_to(SignInAgainPage)
        .continue_to_sandbox()
        .sign_in()
        .choose(original)
        .approve_into(ReconnectedPage)
    )
    [connection] = live_server.connections(reconnect_link.customer_public_id)
    with live_server.app.app_context():
        db.session.execute(
            update(Connection)
            .where(Connection.id == connection.id)
            .values(status="deauthorized", token_ciphertext=None)
        )
        db.session.commit()
        renew = journey_link(
            reconnect_link.customer_public_id, "reconnect", reconnect=connection.public_id
        )

    # The platform is known: from the welcome straight to signing in again.
    connect = ReconnectWelcomePage.open(page, renew).get_started(ReconnectingPage)
    expect(connect.reconnecting(original)).to_be_visible()
    assert_accessible(page)

    # Still signed in at the sandbox: its consent page comes straight away.
    page.get_by_role("button", name=f"Continue to {SANDBOX}").click()
    refused = SandboxConsentFromJourney(page).choose(other).approve_into(ReconnectingPage)
    expect(refused.alert).to_contain_text("That's a different organisation")
    expect(refused.alert).to_contain_text(
        f"You chose {other}, but this link reconnects {original}."
    )
    assert_accessible(page)

    done = refused.try_again().choose(original).approve_into(ReconnectedPage)
    expect(done.connected(original)).to_be_visible()
    # The same connection is linked again (the id the business stores); the attempt that
    # brought the other company back stays on record as failed.
    statuses = [
        (c.public_id, c.status, c.org_name)
        for c in live_server.connections(reconnect_link.customer_public_id)
    ]
    assert statuses[0] == (connection.public_id, "linked", original)
    assert [s[1:] for s in statuses[1:]] == [("failed", other)]

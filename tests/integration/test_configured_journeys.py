"""Journeys designed as configuration: forms, conditions, review, several connections,
branding, languages and versions, through the Flask test client."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.customers.records import create_customer
from app.engine.loading import load_directory
from app.engine.registry import EXTENSION_KEY
from app.extensions import db
from app.links import journey_link
from app.models import ConsentRecord, JourneyRun
from tests.integration.conftest import LiveSandbox
from tests.pages import text_of

ROOT = Path(__file__).resolve().parents[2]
DETAILS = {
    "company_name": "Bluebell Bakery Ltd",
    "company_type": "limited",
    "contact_email": "owner@bluebell.example",
    "employees": "12",
    "turnover": "100k_1m",
    "vat_registered": "y",
}


def _open(app: Flask, journey: str, locale: str | None = None) -> FlaskClient:
    with app.app_context():
        customer = create_customer("Bluebell Bakery Ltd", "owner@bluebell.example")
        link = journey_link(customer.public_id, journey, locale)
    client = app.test_client()
    client.get(link.removeprefix("http://localhost"))
    return client


@pytest.fixture
def business(app: Flask) -> FlaskClient:
    """A customer of the business-details journey, past welcome and consent."""
    client = _open(app, "business")
    client.post("/journey/welcome")
    client.post("/journey/consent", data={"consent_accounts": "y", "agree": "Agree and continue"})
    return client


def test_a_form_step_shows_its_fields_with_labels_and_hints(business: FlaskClient) -> None:
    page = text_of(business.get("/journey/details"))
    # Step 4 is shown only to limited companies; until that's known it is counted.
    assert "Step 3 of 9" in page
    for label in ("Registered business name", "Type of business", "Number of employees"):
        assert label in page
    assert "We'll only call about this application." in page
    assert 'type="email"' in page and 'type="date"' in page and 'type="tel"' in page


def test_form_errors_use_the_journeys_own_messages(app: Flask, business: FlaskClient) -> None:
    response = business.post(
        "/journey/details",
        data={"company_type": "limited", "contact_email": "not-an-email", "employees": "-3"},
    )
    page = text_of(response)
    assert response.status_code == 422
    assert "Enter your registered business name" in page
    assert "Enter an email address like name@example.com" in page
    assert "The number of employees must be between 0 and 100,000" in page
    assert "Choose your annual turnover" in page
    assert "Error: About your business" in page  # the page title says so too


def test_corrected_answers_are_kept_as_json_values(app: Flask, business: FlaskClient) -> None:
    business.post("/journey/details", data={**DETAILS, "trading_since": "2019-04-01"})
    with app.app_context():
        answers = db.session.scalars(select(JourneyRun)).one().answers["details"]
    assert answers["employees"] == 12
    assert answers["trading_since"] == "2019-04-01"
    assert answers["vat_registered"] is True
    assert answers["phone"] is None


def test_a_conditional_step_is_shown_when_its_condition_holds(business: FlaskClient) -> None:
    response = business.post("/journey/details", data=DETAILS)
    assert response.location.endswith("/journey/company")
    page = text_of(business.get("/journey/company"))
    assert "Step 4 of 9" in page
    wrong = business.post("/journey/company", data={"registration_number": "12"})
    assert "Enter the 8-character company registration number, like 01234567" in text_of(wrong)
    assert business.post(
        "/journey/company", data={"registration_number": "01234567"}
    ).location.endswith("/journey/software")


def test_a_conditional_step_is_skipped_when_it_does_not(business: FlaskClient) -> None:
    response = business.post("/journey/details", data={**DETAILS, "company_type": "sole_trader"})
    assert response.location.endswith("/journey/software")
    assert "Step 4 of 8" in text_of(business.get("/journey/software"))
    # The skipped step cannot be opened by its address either.
    assert business.get("/journey/company").location.endswith("/journey/software")


def test_the_review_lists_answers_with_links_to_change_them(business: FlaskClient) -> None:
    business.post("/journey/details", data={**DETAILS, "company_type": "sole_trader"})
    business.post("/journey/software", data={"platform": "sandbox"})
    page = text_of(business.get("/journey/review"))
    assert "Bluebell Bakery Ltd" in page
    assert "Sole trader" in page  # the option's label, not its value
    assert "£100,000 to £1 million" in page
    assert "You agree to share this" in page and "You declined" in page
    assert 'href="/journey/details">Change' in page
    # Changing an answer leads straight back to the review, which shows the new value.
    changed = business.post(
        "/journey/details", data={**DETAILS, "company_type": "sole_trader", "employees": "40"}
    )
    assert changed.location.endswith("/journey/review")
    assert "40" in text_of(business.get("/journey/review"))


def test_changing_to_a_limited_company_asks_the_company_step_next(business: FlaskClient) -> None:
    business.post("/journey/details", data={**DETAILS, "company_type": "sole_trader"})
    business.post("/journey/software", data={"platform": "sandbox"})
    changed = business.post("/journey/details", data=DETAILS)
    assert changed.location.endswith("/journey/company")
    assert "Step 4 of 9" in text_of(business.get("/journey/company"))


def test_several_organisations_can_be_connected(
    app: Flask, business: FlaskClient, live_sandbox: LiveSandbox
) -> None:
    app.config["SANDBOX_URL"] = live_sandbox.url
    business.post("/journey/details", data={**DETAILS, "company_type": "sole_trader"})
    business.post("/journey/software", data={"platform": "sandbox"})
    business.post("/journey/review")
    business.post("/journey/instructions")
    for organisation in (0, 2):
        start = business.post("/journey/connect")
        callback = live_sandbox.authorize(str(start.location), "approve", organisation=organisation)
        back = business.get(callback.removeprefix("http://localhost"))
        assert back.location.endswith("/journey/connect")
    page = text_of(business.get("/journey/connect"))
    assert "Acme Trading Ltd" in page and "Northwind Consulting LLP" in page
    assert "Connect another organisation" in page
    done = business.post("/journey/connect", data={"finish": "Continue"}, follow_redirects=True)
    page = text_of(done)
    assert "Connected to Acme Trading Ltd" in page
    assert "Connected to Northwind Consulting LLP" in page
    # Back to the business, telling it how the journey ended (the latest connection).
    assert 'href="https://harbour-capital.example/applications?outcome=linked&customer_id=' in page
    assert "Back to Harbour Capital" in page


def test_the_brand_reaches_the_page_as_a_stylesheet_and_logo(
    app: Flask, business: FlaskClient
) -> None:
    page = text_of(business.get("/journey/details"))
    with app.app_context():
        version = db.session.scalars(select(JourneyRun)).one().journey_version
    assert f"/journey-theme/business/{version}.css" in page
    css = business.get(f"/journey-theme/business/{version}.css")
    assert css.mimetype == "text/css"
    assert "--brand: #0b5c4a;" in text_of(css)
    assert "--font: Georgia" in text_of(css)
    assert 'alt="Harbour Capital"' in page
    logo = business.get(f"/journey-logo/business/{version}")
    assert logo.status_code == 200
    assert logo.mimetype == "image/svg+xml"
    logo.close()
    assert business.get("/journey-theme/business/not-a-version.css").status_code == 404


def test_a_journey_can_be_taken_in_french(app: Flask) -> None:
    client = _open(app, "default", locale="fr")
    page = text_of(client.get("/journey/welcome"))
    assert '<html lang="fr">' in page
    assert "Connectez votre logiciel de comptabilité à Northwind Lending" in page
    client.post("/journey/welcome")
    client.post(
        "/journey/consent",
        data={"consent_financial_statements": "y", "consent_invoices_bills": "y", "agree": "x"},
    )
    with app.app_context():
        records = db.session.scalars(select(ConsentRecord)).all()
    assert {r.locale for r in records} == {"fr"}
    assert any("Compte de résultat, bilan et flux de trésorerie" in r.text for r in records)


def test_the_browser_language_is_used_when_the_link_names_none(app: Flask) -> None:
    with app.app_context():
        customer = create_customer("A", "a@example.com")
        link = journey_link(customer.public_id, "default").removeprefix("http://localhost")
    client = app.test_client()
    client.get(link, headers={"Accept-Language": "de-DE,de;q=0.9,en;q=0.5"})
    assert "Verbinden Sie Ihre Buchhaltungssoftware" in text_of(client.get("/journey/welcome"))


def test_the_language_switcher_changes_the_journeys_language(app: Flask) -> None:
    client = _open(app, "default")
    response = client.post("/journey/language", data={"locale": "de", "next": "/journey/welcome"})
    assert response.location.endswith("/journey/welcome")
    assert "Verbinden Sie Ihre Buchhaltungssoftware" in text_of(client.get("/journey/welcome"))
    # A language the journey doesn't offer, or a next address off the journey, changes nothing.
    client.post("/journey/language", data={"locale": "es", "next": "https://evil.example/"})
    assert "Verbinden Sie" in text_of(client.get("/journey/welcome"))
    off_site = client.post("/journey/language", data={"locale": "en", "next": "//evil.example/"})
    assert off_site.location.endswith("/journey")


def test_a_run_finishes_on_the_version_it_started_with(app: Flask, tmp_path: Path) -> None:
    journeys = tmp_path / "journeys"
    shutil.copytree(ROOT / "journeys", journeys)
    app.config["JOURNEYS_DIR"] = str(journeys)
    started = _open(app, "reconnect")
    started.post("/journey/welcome")

    edited = (journeys / "reconnect.yaml").read_text().replace("Sign in again", "Sign in once more")
    (journeys / "reconnect.yaml").write_text(edited)
    app.extensions[EXTENSION_KEY] = load_directory(journeys)

    started.post("/journey/software", data={"platform": "sandbox"})
    assert "Sign in again" in text_of(started.get("/journey/connect"))
    newcomer = _open(app, "reconnect")
    newcomer.post("/journey/welcome")
    newcomer.post("/journey/software", data={"platform": "sandbox"})
    assert "Sign in once more" in text_of(newcomer.get("/journey/connect"))

    listing = app.test_cli_runner().invoke(args=["journeys", "list"]).output
    reconnect_rows = [line for line in listing.splitlines() if line.startswith("reconnect")]
    assert len(reconnect_rows) == 2
    assert any("earlier" in row and "1 run(s)" in row for row in reconnect_rows)
    assert any("current" in row and "1 run(s)" in row for row in reconnect_rows)


def test_the_language_switcher_returns_to_the_page_the_customer_is_on(app: Flask) -> None:
    client = _open(app, "default")
    client.post("/journey/welcome")
    # With htmx the header keeps the first page's address; the browser's Referer is right.
    response = client.post(
        "/journey/language",
        data={"locale": "fr", "next": "/journey/welcome"},
        headers={"Referer": "http://localhost/journey/consent"},
    )
    assert response.location.endswith("/journey/consent")
    foreign = client.post(
        "/journey/language",
        data={"locale": "fr", "next": "/journey/welcome"},
        headers={"Referer": "https://evil.example/journey/consent"},
    )
    assert foreign.location.endswith("/journey/welcome")

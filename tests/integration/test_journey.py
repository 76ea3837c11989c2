"""The customer journey through the Flask test client: steps, guards, consent records."""

from __future__ import annotations

from datetime import timedelta

import pytest
from babel.dates import format_date
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.consent.personal import decrypt_for
from app.extensions import db
from app.models import ConsentRecord, Customer, JourneyEvent, JourneyRun
from tests.conftest import Clock
from tests.integration.conftest import ALL_CONSENTS, REQUIRED_CONSENTS
from tests.pages import text_of


def _records(app: Flask) -> list[ConsentRecord]:
    with app.app_context():
        return list(db.session.scalars(select(ConsentRecord).order_by(ConsentRecord.id)))


def _run(app: Flask) -> JourneyRun:
    with app.app_context():
        run = db.session.scalars(select(JourneyRun)).one()
        db.session.expunge(run)
        return run


def test_each_step_says_where_the_customer_is(customer_client: FlaskClient) -> None:
    c = customer_client
    assert "Step 1 of 5" in text_of(c.get("/journey/welcome"))
    c.post("/journey/welcome")
    page = text_of(c.get("/journey/consent"))
    assert "Step 2 of 5" in page
    for fact in ("Why", "How long we keep it", "Who receives it", "Required", "Optional"):
        assert fact in page


def test_consent_checkboxes_start_unticked(customer_client: FlaskClient) -> None:
    customer_client.post("/journey/welcome")
    page = text_of(customer_client.get("/journey/consent"))
    # Agreed by the button: a checkbox for the optional item only, and the button says so.
    assert page.count('type="checkbox"') == 1
    assert "checked" not in page
    assert "By selecting “Agree and continue” you agree to share the items marked Required." in page


def test_the_consent_page_says_until_when_before_agreeing(
    customer_client: FlaskClient, clock: Clock
) -> None:
    customer_client.post("/journey/welcome")
    page = text_of(customer_client.get("/journey/consent"))
    until = format_date(clock.now + timedelta(days=90), "long", locale="en")
    assert f"for 90 days, until {until}, unless you withdraw it sooner" in page


def test_the_button_agrees_to_the_required_items_only(
    app: Flask, customer_client: FlaskClient
) -> None:
    customer_client.post("/journey/welcome")
    agreed = customer_client.post("/journey/consent", data={"agree": "Agree and continue"})
    assert agreed.location.endswith("/journey/software")
    with app.app_context():
        records = db.session.scalars(select(ConsentRecord).order_by(ConsentRecord.item_key)).all()
        decisions = {r.item_key: r.decision for r in records}
        # The ledger keeps what the button said beside the items it agreed to.
        statement = "By selecting “Agree and continue” you agree to share"
        worded = {r.item_key: statement in r.text for r in records}
    assert decisions == {
        "financial_statements": "granted",
        "invoices_bills": "granted",
        "ongoing_monitoring": "declined",
    }
    assert worded == {
        "financial_statements": True,
        "invoices_bills": True,
        "ongoing_monitoring": False,
    }


def test_later_steps_cannot_be_opened_early(customer_client: FlaskClient) -> None:
    response = customer_client.get("/journey/connect")
    assert response.status_code == 303
    assert response.location.endswith("/journey/welcome")


@pytest.mark.usefixtures("ticking")
def test_required_consent_must_be_granted_to_go_on(
    app: Flask, customer_client: FlaskClient
) -> None:
    c = customer_client
    c.post("/journey/welcome")
    response = c.post(
        "/journey/consent",
        data={"consent_financial_statements": "y", "agree": "Agree and continue"},
    )
    assert response.status_code == 422
    assert "There is a problem" in text_of(response)
    assert "Tick “Invoices, bills and the people you trade with” to continue" in text_of(response)
    assert 'aria-invalid="true"' in text_of(response)
    assert _records(app) == []
    assert _run(app).current_step == "consent"


def test_every_decision_is_recorded_with_the_text_shown(
    app: Flask, customer_client: FlaskClient
) -> None:
    c = customer_client
    c.post("/journey/welcome")
    response = c.post(
        "/journey/consent", data=REQUIRED_CONSENTS, headers={"User-Agent": "TestBrowser/1.0"}
    )
    assert response.status_code == 303
    assert response.location.endswith("/journey/software")
    records = {r.item_key: r for r in _records(app)}
    assert {k: r.decision for k, r in records.items()} == {
        "financial_statements": "granted",
        "invoices_bills": "granted",
        "ongoing_monitoring": "declined",
    }
    record = records["financial_statements"]
    assert "Profit and loss, balance sheet and cash flow" in record.text
    assert "Who receives it: Northwind Lending and our credit risk team." in record.text
    import hashlib

    assert record.text_sha256 == hashlib.sha256(record.text.encode()).hexdigest()
    assert record.locale == "en"
    assert record.journey_version == _run(app).journey_version
    assert record.recorded_at.tzinfo is not None
    # What a regulator asks to see, on the record itself.
    assert record.controllers[0]["name"] == "Northwind Lending"
    assert record.controllers[0]["privacy_url"] == "https://northwind-lending.example/privacy"
    assert record.purpose == "To check your business's income, costs and ability to repay."
    assert record.data_categories == ["Profit and loss, balance sheet and cash flow"]
    assert record.policy_url == "https://northwind-lending.example/privacy"
    assert record.policy_version and record.jurisdiction == "GB"
    assert record.collection_method == "journey"
    assert record.actor_type == "customer"
    # The person acting and their browser are kept, but only under the customer's own key.
    assert "TestBrowser" not in (record.personal_ciphertext or "")
    with app.app_context():
        customer = db.session.get(Customer, record.customer_id)
        personal = decrypt_for(customer, record.personal_ciphertext)
    assert personal == {
        "name": customer.name,
        "email": customer.email,
        "ip_address": "127.0.0.1",
        "user_agent": "TestBrowser/1.0",
    }


def test_submitting_the_same_consent_twice_records_once(
    app: Flask, customer_client: FlaskClient
) -> None:
    c = customer_client
    c.post("/journey/welcome")
    c.post("/journey/consent", data=ALL_CONSENTS)
    c.post("/journey/consent", data=ALL_CONSENTS)
    assert len(_records(app)) == 3


def test_changing_a_decision_appends_a_record(app: Flask, customer_client: FlaskClient) -> None:
    c = customer_client
    c.post("/journey/welcome")
    c.post("/journey/consent", data=ALL_CONSENTS)
    c.post("/journey/consent", data=REQUIRED_CONSENTS)
    decisions = [(r.item_key, r.decision) for r in _records(app)]
    assert decisions[-1] == ("ongoing_monitoring", "declined")
    assert len(decisions) == 4


def test_declining_is_recorded_and_explained(app: Flask, customer_client: FlaskClient) -> None:
    c = customer_client
    c.post("/journey/welcome")
    response = c.post(
        "/journey/consent", data={"decline": "Decline and stop"}, follow_redirects=True
    )
    assert "You declined to share your accounting data" in text_of(response)
    assert "will not read any of your accounting data" in text_of(response)
    assert {r.decision for r in _records(app)} == {"declined"}
    assert _run(app).status == "declined"
    # Reopening any step leads back to the explanation, which offers a way back.
    assert c.get("/journey/software").location.endswith("/journey/declined")
    back = c.post("/journey/declined", follow_redirects=True)
    assert "What you agree to share" in text_of(back)
    assert _run(app).status == "active"


def test_only_offered_available_platforms_can_be_chosen(customer_client: FlaskClient) -> None:
    c = customer_client
    c.post("/journey/welcome")
    c.post("/journey/consent", data=REQUIRED_CONSENTS)
    page = text_of(c.get("/journey/software"))
    assert "Sandbox Accounting" in page
    assert "Xero" not in page  # not configured here: not offered at all
    refused = c.post("/journey/software", data={"platform": "xero"})
    assert refused.status_code == 422
    assert "That software can't be connected yet" in text_of(refused)
    missing = c.post("/journey/software", data={})
    assert "Choose your accounting software to continue" in text_of(missing)


def test_the_connect_step_says_how_to_connect_the_chosen_platform(
    customer_client: FlaskClient,
) -> None:
    c = customer_client
    c.post("/journey/welcome")
    c.post("/journey/consent", data=REQUIRED_CONSENTS)
    chosen = c.post("/journey/software", data={"platform": "sandbox"})
    # No "Before you connect" page between choosing and connecting.
    assert chosen.location.endswith("/journey/connect")
    page = text_of(c.get("/journey/connect"))
    assert "Step 4 of 5" in page
    assert "How to connect Sandbox Accounting" in page
    assert "demo@sandbox.test" in page
    # The instructions name the button that is on this very page.
    assert "Select **Continue to Sandbox Accounting**" not in page
    assert "<strong>Continue to Sandbox Accounting</strong>" in page
    assert 'value="Continue to Sandbox Accounting"' in page


def test_going_back_shows_earlier_answers(customer_client: FlaskClient) -> None:
    c = customer_client
    c.post("/journey/welcome")
    c.post("/journey/consent", data=ALL_CONSENTS)
    c.post("/journey/software", data={"platform": "sandbox"})
    # The optional item's tick; the required ones were agreed by the button.
    assert text_of(c.get("/journey/consent")).count("checked") == 1
    assert "Your choice" in text_of(c.get("/journey/software"))


def test_htmx_swaps_get_only_the_journey_block(customer_client: FlaskClient) -> None:
    headers = {"HX-Request": "true", "HX-Target": "div#journey"}
    response = customer_client.get("/journey/welcome", headers=headers)
    assert text_of(response).startswith("<title>")
    assert '<div id="journey"' in text_of(response)
    assert "<html" not in text_of(response)
    assert "HX-Target" in response.headers["Vary"]
    # A bare htmx request (say, a history restore of the body) still gets the whole page.
    whole = customer_client.get("/journey/welcome", headers={"HX-Request": "true"})
    assert "<html" in text_of(whole)


def _step_events(app: Flask) -> list[tuple[str, str]]:
    """The run's events in order, as (step, kind)."""
    with app.app_context():
        return [
            (e.step, e.kind)
            for e in db.session.scalars(select(JourneyEvent).order_by(JourneyEvent.id))
        ]


def test_step_events_record_entries_and_completions(
    app: Flask, customer_client: FlaskClient
) -> None:
    c = customer_client
    c.get("/journey/welcome")
    c.get("/journey/welcome")
    c.post("/journey/welcome")
    kinds = _step_events(app)
    assert kinds == [("welcome", "entered"), ("welcome", "completed")]


def test_coming_back_to_a_step_is_a_new_visit(app: Flask, customer_client: FlaskClient) -> None:
    c = customer_client
    c.get("/journey/welcome")
    c.post("/journey/welcome")
    c.get("/journey/consent")
    # Back to the first step, refreshed: entered once more, as the funnel counts visits.
    c.get("/journey/welcome")
    c.get("/journey/welcome")
    kinds = _step_events(app)
    assert kinds == [
        ("welcome", "entered"),
        ("welcome", "completed"),
        ("consent", "entered"),
        ("welcome", "entered"),
    ]


def test_pages_carry_a_strict_content_security_policy(customer_client: FlaskClient) -> None:
    response = customer_client.get("/journey/welcome")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    # Only the business's own site may frame it (the journey's integration.allowed_origins).
    assert "frame-ancestors https://northwind-lending.example;" in csp
    assert response.headers["Cache-Control"] == "no-store"
    cookie = response.headers.get("Set-Cookie", "")
    assert cookie == "" or ("HttpOnly" in cookie and "SameSite=Lax" in cookie)


def test_forms_without_a_csrf_token_are_refused(app: Flask, link: str) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    c = app.test_client()
    c.get(link)
    response = c.post("/journey/welcome")
    assert response.status_code == 400
    assert "This form has expired" in text_of(response)
    assert _run(app).current_step == "welcome"


def test_an_unknown_step_is_not_found(customer_client: FlaskClient) -> None:
    response = customer_client.get("/journey/nope")
    assert response.status_code == 404
    assert "Page not found" in text_of(response)


def test_an_oversized_form_gets_a_friendly_refusal(customer_client: FlaskClient) -> None:
    response = customer_client.post("/journey/welcome", data={"x": "a" * 100_000})
    assert response.status_code == 413
    assert "That was too much to send" in text_of(response)


def test_a_wrong_method_gets_a_friendly_refusal(customer_client: FlaskClient) -> None:
    response = customer_client.delete("/journey/welcome")
    assert response.status_code == 405
    assert "That action isn't possible here" in text_of(response)


def test_a_completed_journey_only_shows_its_end(app: Flask, customer_client: FlaskClient) -> None:
    with app.app_context():
        run = db.session.scalars(select(JourneyRun)).one()
        run.status = "completed"
        run.current_step = "done"
        db.session.commit()
    assert customer_client.get("/journey/consent").location.endswith("/journey/done")
    assert customer_client.post("/journey/consent", data=ALL_CONSENTS).location.endswith(
        "/journey/done"
    )


def test_the_declined_page_swaps_as_a_fragment_too(customer_client: FlaskClient) -> None:
    c = customer_client
    c.post("/journey/welcome")
    c.post("/journey/consent", data={"decline": "Decline and stop"})
    response = c.get(
        "/journey/declined", headers={"HX-Request": "true", "HX-Target": "div#journey"}
    )
    assert text_of(response).startswith("<title>You declined")
    assert "<html" not in text_of(response)


def test_declining_refuses_every_item_even_ticked_ones(
    app: Flask, customer_client: FlaskClient
) -> None:
    customer_client.post("/journey/welcome")
    customer_client.post(
        "/journey/consent", data={"consent_ongoing_monitoring": "y", "decline": "Decline and stop"}
    )
    assert {r.decision for r in _records(app)} == {"declined"}

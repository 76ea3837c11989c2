"""Consent the customer shapes: how long to share, just once or ongoing until a date, where
the journey lets them choose. The choice is required (nothing chosen for them under
Australia's Consumer Data Right), sets when the grants end, and the ledger, the receipt and
the customer's page say so. Declining needs no choice."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from babel.dates import format_date
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.consent import ledger
from app.customers import expiry
from app.engine.registry import EXTENSION_KEY
from app.engine.schema import Durations
from app.extensions import db
from app.models import ConsentReceipt, ConsentRecord
from tests.conftest import Clock
from tests.integration.conftest import REQUIRED_CONSENTS
from tests.pages import text_of

QUESTION = "How long may Northwind Lending read these records?"
ONCE = "Just once (access ends 24 hours after you agree)"
MUST_CHOOSE = "Choose how long to share, or choose Decline and stop"


def _long(moment: datetime, locale: str = "en") -> str:
    return format_date(moment, "long", locale=locale)


def _with_durations(app: Flask, jurisdiction: str, default: str | int | None = None) -> None:
    """The default journey as a business that lets the customer choose how long has it."""
    journeys = app.extensions[EXTENSION_KEY]
    journey = journeys["default"]
    policy = journey.policy.model_copy(
        update={
            "jurisdiction": jurisdiction,
            "lifetime_days": 365,
            "durations": Durations(choices=["once", 90, 365], default=default),
        }
    )
    journeys["default"] = journey.model_copy(update={"consent_policy": policy})


@pytest.fixture
def australian(app: Flask) -> None:
    """Under the CDR: the customer must choose, nothing is selected for them."""
    _with_durations(app, "AU")


@pytest.fixture
def british(app: Flask) -> None:
    """Elsewhere the journey's default (90 days) is selected to begin with."""
    _with_durations(app, "GB", default=90)


@pytest.fixture
def at_consent(clock: Clock, customer_client: FlaskClient) -> FlaskClient:
    customer_client.post("/journey/welcome")
    return customer_client


def _agree(client: FlaskClient, duration: str | None) -> FlaskClient:
    data = dict(REQUIRED_CONSENTS)
    if duration is not None:
        data["duration"] = duration
    client.post("/journey/consent", data=data)
    return client


def _records(app: Flask) -> dict[str, ConsentRecord]:
    with app.app_context():
        records = db.session.scalars(select(ConsentRecord).order_by(ConsentRecord.sequence))
        latest = {r.item_key: r for r in records}
        for record in latest.values():
            db.session.expunge(record)
        return latest


def _checked(page: str) -> list[str]:
    radios = re.findall(r'<input [^>]*name="duration"[^>]*>', page)
    return [re.findall(r'value="([^"]+)"', r)[0] for r in radios if re.search(r"\bchecked\b", r)]


@pytest.mark.usefixtures("australian")
def test_the_step_asks_how_long_with_nothing_chosen_under_the_cdr(
    clock: Clock, at_consent: FlaskClient
) -> None:
    page = text_of(at_consent.get("/journey/consent"))

    assert f"<legend>{QUESTION}</legend>" in page
    assert f">{ONCE}</label>" in page
    for days in (90, 365):
        until = _long(clock.now + timedelta(days=days))
        assert f">Ongoing, until {until}</label>" in page
    assert _checked(page) == []
    # The choice says how long: the fixed-lifetime sentence is not shown beside it.
    assert "You share what you agree to for" not in page


@pytest.mark.usefixtures("british")
def test_elsewhere_the_journeys_default_is_chosen_to_begin_with(at_consent: FlaskClient) -> None:
    assert _checked(text_of(at_consent.get("/journey/consent"))) == ["90"]


@pytest.mark.usefixtures("australian")
def test_agreeing_without_choosing_is_refused_with_a_summary(
    app: Flask, at_consent: FlaskClient
) -> None:
    refused = at_consent.post("/journey/consent", data=REQUIRED_CONSENTS)

    assert refused.status_code == 422
    page = text_of(refused)
    assert "There is a problem" in page
    assert re.search(rf'<li><a href="#duration-0">{MUST_CHOOSE}</a></li>', page)
    assert f'<p id="duration-error" class="field-error">{MUST_CHOOSE}</p>' in page
    assert _records(app) == {}


@pytest.mark.usefixtures("australian")
def test_a_choice_not_offered_is_refused(app: Flask, at_consent: FlaskClient) -> None:
    refused = at_consent.post("/journey/consent", data={**REQUIRED_CONSENTS, "duration": "3650"})

    assert refused.status_code == 422
    assert MUST_CHOOSE in text_of(refused)
    assert _records(app) == {}


@pytest.mark.usefixtures("australian")
@pytest.mark.parametrize(
    ("choice", "lasts", "wording"),
    [
        ("once", timedelta(days=1), lambda now: ONCE),
        ("90", timedelta(days=90), lambda now: f"Ongoing, until {_long(now + timedelta(90))}"),
        ("365", timedelta(days=365), lambda now: f"Ongoing, until {_long(now + timedelta(365))}"),
    ],
)
def test_each_choice_sets_when_the_grants_end_and_the_ledger_keeps_its_words(
    app: Flask,
    clock: Clock,
    at_consent: FlaskClient,
    choice: str,
    lasts: timedelta,
    wording: Callable[[datetime], str],
) -> None:
    _agree(at_consent, choice)

    records = _records(app)
    for key in ("financial_statements", "invoices_bills"):
        grant = records[key]
        assert grant.decision == ledger.GRANTED
        assert grant.expires_at == clock.now + lasts
        assert grant.text.endswith(f"\n{QUESTION} {wording(clock.now)}")
    # The optional item left unticked is declined: no duration, no expiry.
    refused = records["ongoing_monitoring"]
    assert refused.decision == ledger.DECLINED
    assert refused.expires_at is None
    assert QUESTION not in refused.text


@pytest.mark.usefixtures("australian")
def test_coming_back_shows_the_choice_made(at_consent: FlaskClient) -> None:
    _agree(at_consent, "365")

    assert _checked(text_of(at_consent.get("/journey/consent"))) == ["365"]


@pytest.mark.usefixtures("australian")
def test_declining_needs_no_choice(app: Flask, at_consent: FlaskClient) -> None:
    declined = at_consent.post("/journey/consent", data={"decline": "Decline and stop"})

    assert declined.status_code == 303
    assert declined.location.endswith("/journey/declined")
    records = _records(app)
    assert {r.decision for r in records.values()} == {ledger.DECLINED}
    assert all(r.expires_at is None and QUESTION not in r.text for r in records.values())


def _receipt(app: Flask, client: FlaskClient) -> str:
    with app.app_context():
        receipt_id = db.session.scalars(select(ConsentReceipt.public_id)).one()
    page = client.get(f"/my/receipts/{receipt_id}")
    assert page.status_code == 200
    return text_of(page)


@pytest.mark.usefixtures("australian")
def test_the_receipt_and_the_customers_page_say_until_when_for_once(
    app: Flask, clock: Clock, at_consent: FlaskClient
) -> None:
    _agree(at_consent, "once")
    ends = _long(clock.now + timedelta(days=1))

    receipt = _receipt(app, at_consent)
    assert (
        f"Until when</dt><dd>Shared just once: consent ends on {ends}, 24 hours after you "
        "gave it, or earlier if you withdraw it." in receipt
    )
    page = text_of(at_consent.get("/my"))
    assert f"Until</dt><dd>{ends}" in page
    # Shared once by choice: nothing to keep going, only to withdraw.
    assert "Keep sharing" not in page
    assert "Withdraw" in page


@pytest.mark.usefixtures("australian")
def test_the_receipt_and_the_customers_page_say_until_when_for_ongoing(
    app: Flask, clock: Clock, at_consent: FlaskClient
) -> None:
    _agree(at_consent, "365")
    ends = _long(clock.now + timedelta(days=365))

    receipt = _receipt(app, at_consent)
    assert f"Until when</dt><dd>Consent ends on {ends} unless you reconfirm it" in receipt
    page = text_of(at_consent.get("/my"))
    assert f"Until</dt><dd>{ends}" in page
    assert "Keep sharing" in page


@pytest.mark.usefixtures("australian")
def test_a_grant_shared_once_gets_no_reminder_and_ends_the_next_day(
    app: Flask, clock: Clock, at_consent: FlaskClient
) -> None:
    _agree(at_consent, "once")

    with app.app_context():
        assert expiry.send_reminders() == 0
        clock.advance(timedelta(days=1, seconds=1))
        assert expiry.expire_due() == 2
    assert {r.decision for r in _records(app).values()} == {ledger.EXPIRED, ledger.DECLINED}


@pytest.mark.usefixtures("australian")
def test_the_choice_reads_in_the_customers_language(
    app: Flask, clock: Clock, at_consent: FlaskClient
) -> None:
    at_consent.post("/journey/language", data={"locale": "fr", "next": "/journey/consent"})
    page = text_of(at_consent.get("/journey/consent"))

    assert "Combien de temps Northwind Lending peut-il consulter ces données ?" in page
    assert f"En continu, jusqu\u2019au {_long(clock.now + timedelta(days=90), 'fr')}" in page

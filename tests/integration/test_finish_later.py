"""Save and finish later: on any step under way the customer gets a link back to where
they are, by email when the business can send mail, or on the page to keep."""

from __future__ import annotations

import re
from email.message import EmailMessage

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app import mail
from app.extensions import db
from app.models import JourneyEvent, MailMessage
from tests.integration.conftest import REQUIRED_CONSENTS
from tests.mail_sink import Sink, smtp_sink
from tests.pages import text_of

BUTTON = "Save and finish later"


def _resume_path(text: str) -> str:
    found = re.search(r"http://localhost(/j/[A-Za-z0-9_.\-]+)", text)
    assert found, text
    return found.group(1)


def _later_emails(sink: Sink) -> list[EmailMessage]:
    """The emails with a link to finish later (agreeing sends a consent receipt too)."""
    return [m for m in sink.to("owner@acme.example") if "receipt" not in m["Subject"].lower()]


def _saved_events(app: Flask) -> list[JourneyEvent]:
    with app.app_context():
        return list(db.session.scalars(select(JourneyEvent).where(JourneyEvent.kind == "saved")))


def _agree(client: FlaskClient) -> None:
    client.post("/journey/welcome")
    client.post("/journey/consent", data=REQUIRED_CONSENTS)


def test_every_step_under_way_offers_it(customer_client: FlaskClient) -> None:
    c = customer_client
    assert BUTTON in text_of(c.get("/journey/welcome"))
    c.post("/journey/welcome")
    assert BUTTON in text_of(c.get("/journey/consent"))
    c.post("/journey/consent", data=REQUIRED_CONSENTS)
    assert BUTTON in text_of(c.get("/journey/software"))
    c.post("/journey/software", data={"platform": "sandbox"})
    assert BUTTON in text_of(c.get("/journey/connect"))


def test_with_mail_the_link_is_emailed_and_resumes_at_the_step_reached(
    app: Flask, customer_client: FlaskClient
) -> None:
    with smtp_sink() as (sink, settings):
        app.config.update(settings)
        _agree(customer_client)
        saved = customer_client.post("/journey/later", follow_redirects=True)
        page = text_of(saved)
        assert saved.status_code == 200
        assert "We've emailed you a link to finish later" in page
        # The address, partly hidden; never the link itself.
        assert "o•••@acme.example" in page
        assert "owner@acme.example" not in page
        assert "/j/" not in page
        assert "Continue now" in page
        with app.app_context():
            mail.send_due()
    [message] = _later_emails(sink)
    assert "Northwind Lending" in message["Subject"]
    body = message.get_content()
    assert "Onramp" not in body + message["Subject"]
    assert "The link works for" in body
    [event] = _saved_events(app)
    assert (event.step, event.detail) == ("software", "link emailed")

    # Another browser (another device) opens the emailed link: it is on the software step.
    other = app.test_client()
    opened = other.get(_resume_path(body), follow_redirects=True)
    assert opened.request.path == "/journey/software"
    assert opened.status_code == 200


def test_the_email_speaks_the_runs_language(app: Flask, customer_client: FlaskClient) -> None:
    with smtp_sink() as (sink, settings):
        app.config.update(settings)
        customer_client.post("/journey/language", data={"locale": "fr", "next": "/journey"})
        saved = customer_client.post("/journey/later", follow_redirects=True)
        assert "Nous vous avons envoyé" in text_of(saved)
        with app.app_context():
            mail.send_due()
    [message] = _later_emails(sink)
    assert "Bonjour" in message.get_content()
    # The link keeps the language: opened elsewhere, the journey speaks French.
    other = app.test_client()
    opened = other.get(_resume_path(message.get_content()), follow_redirects=True)
    assert opened.request.path == "/journey/welcome"
    assert 'lang="fr"' in opened.get_data(as_text=True)


def test_without_mail_the_link_is_shown_to_keep(app: Flask, customer_client: FlaskClient) -> None:
    _agree(customer_client)
    saved = customer_client.post("/journey/later", follow_redirects=True)
    page = text_of(saved)
    assert "Keep this link to finish later" in page
    assert "The link works for 14 days, until" in page
    assert "Continue now" in page
    with app.app_context():
        assert db.session.scalars(select(MailMessage)).first() is None
    [event] = _saved_events(app)
    assert event.detail == "link shown"

    other = app.test_client()
    opened = other.get(_resume_path(page), follow_redirects=True)
    assert opened.request.path == "/journey/software"


def test_continue_now_goes_back_to_the_step(customer_client: FlaskClient) -> None:
    _agree(customer_client)
    page = customer_client.post("/journey/later", follow_redirects=True).get_data(as_text=True)
    assert 'href="/journey/software"' in page
    assert customer_client.get("/journey/software").status_code == 200


def test_not_offered_once_done(
    app: Flask, customer_client: FlaskClient, linked_sandbox: object
) -> None:
    done = customer_client.get("/journey", follow_redirects=True)
    assert done.request.path == "/journey/done"
    assert BUTTON not in text_of(done)
    # Posted anyway (an old page): nothing is saved, the customer stays where they are.
    answered = customer_client.post("/journey/later")
    assert answered.status_code == 303
    assert customer_client.get("/journey/later").location.endswith("/journey")
    assert _saved_events(app) == []


def test_not_offered_after_declining(app: Flask, customer_client: FlaskClient) -> None:
    customer_client.post("/journey/welcome")
    customer_client.post("/journey/consent", data={"decline": "Decline and stop"})
    declined = customer_client.get("/journey", follow_redirects=True)
    assert declined.request.path == "/journey/declined"
    assert BUTTON not in text_of(declined)
    customer_client.post("/journey/later")
    assert _saved_events(app) == []


def test_the_page_needs_the_button_first(customer_client: FlaskClient) -> None:
    # Typed in by hand, the page hands out no link: back to the journey.
    answered = customer_client.get("/journey/later")
    assert answered.status_code == 303
    assert answered.location.endswith("/journey")


def test_a_post_without_its_csrf_token_is_refused(app: Flask, customer_client: FlaskClient) -> None:
    with smtp_sink() as (sink, settings):
        app.config.update(settings, WTF_CSRF_ENABLED=True)
        answered = customer_client.post("/journey/later")
        assert answered.status_code in (303, 400)
        assert "We've emailed you" not in text_of(customer_client.get("/journey/later"))
        with app.app_context():
            assert mail.send_due() == 0
    assert sink.messages == []
    assert _saved_events(app) == []


def test_emails_are_limited_then_the_link_is_shown(
    app: Flask, customer_client: FlaskClient
) -> None:
    with smtp_sink() as (sink, settings):
        app.config.update(settings)
        for _ in range(5):
            page = text_of(customer_client.post("/journey/later", follow_redirects=True))
            assert "We've emailed you a link" in page
        page = text_of(customer_client.post("/journey/later", follow_redirects=True))
        assert "so we didn't send another" in page
        assert "Keep this link to finish later" in page
        with app.app_context():
            mail.send_due()
    assert len(_later_emails(sink)) == 5
    assert [e.detail for e in _saved_events(app)][-1] == "link shown, email limit reached"


def test_the_console_timeline_shows_it(app: Flask, customer_client: FlaskClient) -> None:
    customer_client.post("/journey/later")
    [event] = _saved_events(app)
    assert event.step == "welcome"

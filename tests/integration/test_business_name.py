"""Customers hear from the business they deal with, never from Onramp, a name they don't
know: no page of the default journey, the customer's page, an error page or an email
says "Onramp" (unless the journey asks to, with ``business.show_onramp``)."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from app.engine import versions
from app.engine.registry import EXTENSION_KEY
from tests.integration.conftest import REQUIRED_CONSENTS
from tests.mail_sink import smtp_sink
from tests.pages import text_of

BUSINESS = "Northwind Lending"


def _words(html: str) -> str:
    """What a person reads: the text, the window's title and images' alternatives, with
    markup (class names, data- attributes) left out."""
    alts = " ".join(re.findall(r'alt="([^"]*)"', html))
    return re.sub(r"<[^>]+>", " ", html) + " " + alts


def test_no_customer_page_names_onramp(customer_client: FlaskClient, link: str) -> None:
    c = customer_client
    pages = {"welcome": c.get("/journey/welcome", follow_redirects=True)}
    c.post("/journey/welcome")
    pages["consent"] = c.get("/journey/consent")
    c.post("/journey/consent", data=REQUIRED_CONSENTS)
    pages["software"] = c.get("/journey/software")
    c.post("/journey/software", data={"platform": "sandbox"})
    pages["connect"] = c.get("/journey/connect", follow_redirects=True)
    pages["customer page"] = c.get("/my")
    pages["missing page"] = c.get("/no-such-page")
    pages["tampered link"] = c.get(link + "x")
    pages["sandbox"] = c.get("/sandbox/authorize")
    for name, response in pages.items():
        words = _words(text_of(response))
        assert "Onramp" not in words, f"the {name} page names Onramp"
        assert BUSINESS in words or name == "sandbox", f"the {name} page lacks the business"


def test_the_customer_page_elsewhere_speaks_for_the_default_business(client: FlaskClient) -> None:
    # Another browser, no link opened: still the business's page, not an "Error 403".
    page = text_of(client.get("/my"))
    assert BUSINESS in page
    assert "Onramp" not in _words(page)
    assert "Error 403" not in page


def test_emails_come_from_the_business(app: Flask, customer_client: FlaskClient) -> None:
    with smtp_sink() as (sink, settings):
        # Without MAIL_FROM set, mail comes from the default journey's business.
        del settings["MAIL_FROM"]
        app.config.update(settings, MAIL_FROM=None)
        from app import _configure_business_name

        _configure_business_name(app)
        customer_client.post("/journey/welcome")
        customer_client.post("/journey/consent", data=REQUIRED_CONSENTS)
        customer_client.post("/my/link", data={"email": "owner@acme.example"})
        with app.app_context():
            from app import mail

            mail.send_due()
    assert len(sink.messages) >= 2
    for message in sink.messages:
        assert message["From"] == f"{BUSINESS} <no-reply@localhost>"
        body = "\n".join(
            part.get_content()
            for part in message.walk()
            if part.get_content_type() in ("text/plain", "text/html")
        )
        assert "Onramp" not in message["Subject"] + _words(body)


def test_a_journey_may_say_it_uses_onramp(app: Flask, customer_client: FlaskClient) -> None:
    journey = app.extensions[EXTENSION_KEY]["default"]
    app.extensions[EXTENSION_KEY]["default"] = journey.model_copy(
        update={"business": journey.business.model_copy(update={"show_onramp": True})}
    )
    # Same version, other content (only a test can do that): forget the version as seen.
    app.extensions.pop(versions.CACHE_KEY, None)
    page = text_of(customer_client.get("/journey/welcome", follow_redirects=True))
    assert f"{BUSINESS} uses Onramp to connect your accounting software securely." in page

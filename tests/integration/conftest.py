from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.customers import create_customer
from app.links import journey_link

ALL_CONSENTS = {
    "consent_financial_statements": "y",
    "consent_invoices_bills": "y",
    "consent_ongoing_monitoring": "y",
    "agree": "Agree and continue",
}
REQUIRED_CONSENTS = {
    "consent_financial_statements": "y",
    "consent_invoices_bills": "y",
    "agree": "Agree and continue",
}


@pytest.fixture
def link(app: Flask) -> str:
    """A fresh customer's journey link, as a path on the test server."""
    with app.app_context():
        customer = create_customer("Acme Ltd", "owner@acme.example")
        return journey_link(customer.public_id, "default").removeprefix("http://localhost")


@pytest.fixture
def customer_client(client: FlaskClient, link: str) -> FlaskClient:
    """A browser that has opened its journey link."""
    client.get(link)
    return client


@pytest.fixture
def at_connect(customer_client: FlaskClient) -> FlaskClient:
    """A customer who has consented, chosen the Sandbox and read the instructions."""
    c = customer_client
    c.post("/journey/welcome")
    c.post("/journey/consent", data=REQUIRED_CONSENTS)
    c.post("/journey/software", data={"platform": "sandbox"})
    c.post("/journey/instructions")
    return c

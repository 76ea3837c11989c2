"""Where a page sends the browser next: a path on this site, whatever the request says.

A ``next`` address (admin sign-in) or a language switcher's return address carrying a
line break once crashed the answer (a header cannot hold one); a backslash or a tab
can turn a path into another site in a browser. Each falls back to the default page.
"""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.customers.records import create_customer
from app.links import journey_link
from tests.admin import PASSWORD, make_user

HOSTILE = [
    "/admin/\r\nSet-Cookie: stolen=1",
    "/admin/\nx",
    "/admin/\r",
    "/\\evil.example/",
    "/\t/evil.example/",
    "/\x7f",
    "/admin/\x85",
]


@pytest.mark.parametrize("target", HOSTILE)
def test_sign_in_falls_back_to_the_console_for_a_hostile_next(
    app: Flask, client: FlaskClient, target: str
) -> None:
    email = make_user(app, "viewer")
    response = client.post(
        "/admin/login", query_string={"next": target}, data={"email": email, "password": PASSWORD}
    )
    assert response.status_code == 303
    assert response.location == "/admin/"
    # Already signed in, the sign-in page sends the colleague on the same way.
    again = client.get("/admin/login", query_string={"next": target})
    assert (again.status_code, again.location) == (303, "/admin/")


def test_a_plain_next_path_is_still_followed(app: Flask, client: FlaskClient) -> None:
    email = make_user(app, "viewer")
    response = client.post(
        "/admin/login",
        query_string={"next": "/admin/customers?q=acme"},
        data={"email": email, "password": PASSWORD},
    )
    assert response.location == "/admin/customers?q=acme"


def _customer(app: Flask) -> FlaskClient:
    with app.app_context():
        customer = create_customer("Bluebell Bakery Ltd", "owner@bluebell.example")
        link = journey_link(customer.public_id, "default")
    client = app.test_client()
    client.get(link.removeprefix("http://localhost"))
    return client


@pytest.mark.parametrize(
    "target", ["/journey/welcome\r\nSet-Cookie: stolen=1", "/journey\\..\\evil", "/journey/\x01"]
)
def test_the_language_switcher_falls_back_to_the_journey(app: Flask, target: str) -> None:
    client = _customer(app)
    response = client.post("/journey/language", data={"locale": "fr", "next": target})
    assert response.status_code == 303
    assert response.location == "/journey"


def test_the_language_switcher_still_returns_to_the_page(app: Flask) -> None:
    client = _customer(app)
    response = client.post("/journey/language", data={"locale": "fr", "next": "/journey/welcome"})
    assert response.location == "/journey/welcome"


def test_a_link_opens_the_customers_page_with_one_redirect(app: Flask) -> None:
    """No stop at /journey on the way: the link answers with the page they are on."""
    with app.app_context():
        customer = create_customer("Bluebell Bakery Ltd", "owner@bluebell.example")
        link = journey_link(customer.public_id, "default").removeprefix("http://localhost")
    client = app.test_client()
    first = client.get(link)
    assert (first.status_code, first.location) == (303, "/journey/welcome")
    assert client.get(first.location).status_code == 200
    # Back later from the same link, they land where they stopped.
    client.post("/journey/welcome")
    assert client.get(link).location == "/journey/consent"

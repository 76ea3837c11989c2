"""What the step page keeps between requests to answer faster (issue 21) still answers as
it did: addresses per prefix, the session under a rotated key, the console's colleague."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from app.journey.views import CustomerUrls
from tests.admin import make_user, sign_in
from tests.pages import text_of


def test_an_address_is_built_for_the_prefix_the_app_is_served_under(app: Flask) -> None:
    with app.test_request_context("/"):
        plain = CustomerUrls().step("consent")
    with app.test_request_context("/", base_url="http://localhost/onramp/"):
        prefixed = CustomerUrls().step("consent")
    with app.test_request_context("/"):
        again = CustomerUrls().step("consent")
    assert plain == again == "/journey/consent"
    assert prefixed == "/onramp/journey/consent"
    # An address naming its host is built for each request's own.
    with app.test_request_context("/", base_url="http://one.example/"):
        one = CustomerUrls().step("consent", _external=True)
    with app.test_request_context("/", base_url="http://two.example/"):
        two = CustomerUrls().step("consent", _external=True)
    assert (one, two) == (
        "http://one.example/journey/consent",
        "http://two.example/journey/consent",
    )


def test_a_customer_keeps_their_journey_when_the_secret_key_is_rotated(
    app: Flask, client: FlaskClient, link: str
) -> None:
    client.get(link)
    assert client.get("/journey/welcome").status_code == 200
    old = app.secret_key
    app.secret_key = "a new key, with the old one kept as a fallback"
    app.config["SECRET_KEY_FALLBACKS"] = [old]
    assert client.get("/journey/welcome").status_code == 200
    # Once the old key is dropped, the cookie signed with it opens nothing.
    app.config["SECRET_KEY_FALLBACKS"] = []
    assert client.get("/journey/welcome").status_code == 403


def test_the_welcome_button_moves_on_and_a_forged_press_does_not(
    app: Flask, client: FlaskClient, link: str
) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    client.get(link)
    page = text_of(client.get("/journey/welcome"))
    assert 'type="submit" name="submit" value="Get started"' in page
    forged = client.post("/journey/welcome", data={"csrf_token": "forged", "submit": "x"})
    assert forged.status_code == 400
    assert client.get("/journey").location.endswith("/journey/welcome")
    token = client.get("/journey/welcome").text.split('name="csrf_token" value="')[1]
    moved = client.post(
        "/journey/welcome", data={"csrf_token": token.split('"')[0], "submit": "Get started"}
    )
    assert moved.status_code == 303
    assert moved.location.endswith("/journey/consent")


def test_the_console_names_the_colleague_signed_in_and_a_customer_page_no_one(
    app: Flask, client: FlaskClient, link: str
) -> None:
    colleague = app.test_client()
    sign_in(colleague, make_user(app, "support", "sam@example.com"))
    assert "Signed in as sam@example.com, with the support role." in text_of(
        colleague.get("/admin/")
    )
    client.get(link)
    assert "sam@example.com" not in text_of(client.get("/journey/welcome"))

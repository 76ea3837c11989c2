"""What the step page keeps between requests to answer faster (issue 21) still answers as
it did: addresses per prefix, the session under a rotated key, the console's colleague,
the CSRF token, translated strings, the database connection."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

import app.security as security
from app import create_app
from app.config import configure, new_app
from app.extensions import db, limiter
from app.journey.views import CustomerUrls
from tests.admin import make_user, sign_in
from tests.conftest import reset_database, test_settings
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


def test_a_page_signs_its_csrf_token_once_and_every_form_carries_it(
    app: Flask, client: FlaskClient, link: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    signed: list[str] = []
    sign = security.generate_csrf

    def counted() -> str:
        signed.append(sign())
        return signed[-1]

    monkeypatch.setattr(security, "generate_csrf", counted)
    client.get(link)
    signed.clear()
    page = client.get("/journey/welcome").text
    in_forms = re.findall(r'name="csrf_token" value="([^"]+)"', page)
    for_htmx = re.findall(r'"X-CSRFToken": "([^"]+)"', page)
    # The language switcher, the step's button, "finish later"; and htmx's header.
    assert len(in_forms) == 3 and len(for_htmx) == 1
    assert set(in_forms) == set(for_htmx) == set(signed)
    assert len(signed) == 1


def test_a_translated_string_reads_as_jinja_would_give_it(app: Flask) -> None:
    with app.test_request_context("/", headers={"Accept-Language": "de"}):
        shown = {
            source: app.jinja_env.from_string(source).render()
            for source in (
                '{{ _("Terms") }}',
                '{{ _("100%% of it") }}',
                '{{ _("Phone: %(phone)s", phone="<b>0800</b>") }}',
                "{% trans %}Terms{% endtrans %}",
            )
        }
    assert shown == {
        '{{ _("Terms") }}': "Nutzungsbedingungen",
        '{{ _("100%% of it") }}': "100% of it",
        '{{ _("Phone: %(phone)s", phone="<b>0800</b>") }}': "Telefon: &lt;b&gt;0800&lt;/b&gt;",
        "{% trans %}Terms{% endtrans %}": "Nutzungsbedingungen",
    }


@pytest.mark.parametrize(
    ("database", "asked", "checked"),
    [
        ("sqlite:///onramp.db", None, False),
        ("postgresql://onramp@db.internal/onramp", None, True),
        ("sqlite:///onramp.db", True, True),
    ],
)
def test_connections_are_checked_before_use_where_a_server_may_have_closed_them(
    tmp_path: Path, database: str, asked: bool | None, checked: bool
) -> None:
    settings = test_settings(tmp_path, SQLALCHEMY_DATABASE_URI=database)
    if asked is not None:
        settings["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_pre_ping": asked}
    served = new_app("app")
    configure(served, settings)
    assert served.config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is checked


def test_an_operators_default_rate_limit_still_holds_on_every_page(tmp_path: Path) -> None:
    """Flask-Limiter's check before each request is left out only while no limit needs it."""
    limited = create_app(test_settings(tmp_path, RATELIMIT_DEFAULT="3 per minute"))
    try:
        reset_database(limited)
        browser = limited.test_client()
        # No journey in this browser: each page says so, and each one counts.
        assert [browser.get("/journey/welcome").status_code for _ in range(4)] == [
            403,
            403,
            403,
            429,
        ]
    finally:
        # Flask-Limiter keeps default limits on its one limiter, for every app built after.
        limiter.limit_manager.set_default_limits([])
        with limited.app_context():
            db.engine.dispose()

"""Customer links: signed, expiring, and friendly when they are not right."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.customers.records import create_customer
from app.links import journey_link, make_token
from tests.integration.conftest import REQUIRED_CONSENTS
from tests.pages import text_of


def _link(app: Flask, journey: str = "default") -> str:
    with app.app_context():
        customer = create_customer("Acme Ltd", "owner@acme.example")
        return journey_link(customer.public_id, journey).removeprefix("http://localhost")


def test_a_link_opens_the_journey_at_its_first_step(app: Flask, client: FlaskClient) -> None:
    response = client.get(_link(app), follow_redirects=True)
    assert response.status_code == 200
    assert "Step 1 of 5" in text_of(response)
    assert "Connect your accounting software to Northwind Lending" in text_of(response)


def test_links_point_at_the_public_url(app: Flask) -> None:
    with app.app_context():
        customer = create_customer("Acme Ltd", "owner@acme.example")
        assert journey_link(customer.public_id, "default").startswith("http://localhost/j/")


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-3] + ("AAA" if not t.endswith("AAA") else "BBB"),
        lambda t: t[: len(t) // 2],
        lambda t: "not-a-token",
        lambda t: t + "%00",
    ],
    ids=["tampered-signature", "truncated", "garbage", "null-byte"],
)
def test_a_tampered_link_gets_a_friendly_page(app: Flask, client: FlaskClient, mangle) -> None:  # type: ignore[no-untyped-def]
    token = _link(app).removeprefix("/j/")
    response = client.get("/j/" + mangle(token))
    assert response.status_code == 400
    assert "This link isn't valid" in text_of(response)


def test_an_expired_link_says_so(app: Flask, client: FlaskClient) -> None:
    app.config["LINK_MAX_AGE_SECONDS"] = -1
    response = client.get(_link(app))
    assert response.status_code == 410
    assert "This link has expired" in text_of(response)


def test_a_link_signed_with_another_key_is_refused(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        customer = create_customer("Acme Ltd", "owner@acme.example")
        app.config["SECRET_KEY"] = "another-key"
        token = make_token(customer.public_id, "default")
        app.config["SECRET_KEY"] = "test-secret-key-not-for-production"
    assert client.get(f"/j/{token}").status_code == 400


def test_a_link_for_an_unknown_journey_is_not_in_use(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        customer = create_customer("Acme Ltd", "owner@acme.example")
        token = make_token(customer.public_id, "no-such-journey")
    response = client.get(f"/j/{token}")
    assert response.status_code == 404
    assert "no longer in use" in text_of(response)


def test_journey_pages_without_a_link_ask_for_it(client: FlaskClient) -> None:
    response = client.get("/journey/consent")
    assert response.status_code == 403
    assert "Open your link to continue" in text_of(response)


def test_reopening_the_link_resumes_where_the_customer_was(app: Flask, client: FlaskClient) -> None:
    link = _link(app)
    client.get(link)
    client.post("/journey/welcome")
    fresh_browser = app.test_client()
    response = fresh_browser.get(link, follow_redirects=True)
    assert "Step 2 of 5" in text_of(response)
    assert "What you agree to share" in text_of(response)


def _deep_link(app: Flask, platform: str) -> str:
    with app.app_context():
        customer = create_customer("Acme Ltd", "owner@acme.example")
        return journey_link(customer.public_id, "default", platform=platform).removeprefix(
            "http://localhost"
        )


def test_a_deep_link_to_a_platform_skips_the_picker(app: Flask, client: FlaskClient) -> None:
    client.get(_deep_link(app, "sandbox"))
    client.post("/journey/welcome")
    response = client.post("/journey/consent", data=REQUIRED_CONSENTS)
    assert response.location.endswith("/journey/connect")
    page = text_of(client.get("/journey/connect"))
    assert "How to connect Sandbox Accounting" in page


def test_a_deep_link_to_an_unavailable_platform_still_shows_the_picker(
    app: Flask, client: FlaskClient
) -> None:
    client.get(_deep_link(app, "xero"))
    client.post("/journey/welcome")
    response = client.post("/journey/consent", data=REQUIRED_CONSENTS)
    assert response.location.endswith("/journey/software")


def test_invite_can_pre_select_a_platform(app: Flask) -> None:
    runner = app.test_cli_runner()
    ok = runner.invoke(
        args=["invite", "--name", "A", "--email", "a@b.example", "--platform", "sandbox"]
    )
    assert ok.exit_code == 0
    unknown = runner.invoke(
        args=["invite", "--name", "A", "--email", "a@b.example", "--platform", "abacus"]
    )
    assert unknown.exit_code == 2
    assert "no platform 'abacus'" in unknown.output


def test_a_journey_that_names_one_platform_skips_the_picker(
    app: Flask, client: FlaskClient
) -> None:
    from app.engine.registry import EXTENSION_KEY

    journeys = app.extensions[EXTENSION_KEY]
    journey = journeys["default"]
    steps = [
        step.model_copy(update={"platforms": ["sandbox"]})
        if step.type == "platform_select"
        else step
        for step in journey.steps
    ]
    journeys["default"] = journey.model_copy(update={"steps": steps})

    client.get(_deep_link(app, ""))
    client.post("/journey/welcome")
    response = client.post("/journey/consent", data=REQUIRED_CONSENTS)
    # Nothing to choose: from consent straight to connecting the one platform named.
    assert response.location.endswith("/journey/connect")
    assert "How to connect Sandbox Accounting" in text_of(client.get("/journey/connect"))

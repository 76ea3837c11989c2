"""The journey on the business's own site: return URLs, embedding in a frame, provider popups.

The journey of these tests is journeys/default.yaml with an ``integration`` section
allowing one shop's origin and return URLs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from app.customers.records import create_customer
from app.extensions import db
from app.links import journey_link
from app.models import Connection, JourneyRun
from tests.conftest import reset_database, test_settings
from tests.embedding import journeys_allowing
from tests.integration.conftest import REQUIRED_CONSENTS, LiveSandbox
from tests.pages import text_of

SHOP = "https://shop.example"
RETURN = "https://shop.example/onramp/back?ref=42"


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    from app import create_app

    journeys = journeys_allowing(tmp_path, [SHOP], [f"{SHOP}/onramp/"])
    app = create_app(test_settings(tmp_path, JOURNEYS_DIR=str(journeys)))
    reset_database(app)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _link(app: Flask, return_url: str | None = None) -> str:
    with app.app_context():
        customer = create_customer("Acme Ltd", "owner@acme.example")
        url = journey_link(customer.public_id, "default", return_url=return_url)
    return url.removeprefix("http://localhost")


@pytest.fixture
def framed(client: FlaskClient, app: Flask) -> FlaskClient:
    """A browser showing the journey in a frame on the shop's page."""
    response = client.get(_link(app) + "?embed=" + SHOP)
    assert response.status_code == 303
    return client


def _frame_ancestors(response: TestResponse) -> str:
    policy = response.headers["Content-Security-Policy"]
    found = re.search(r"frame-ancestors ([^;]+)", policy)
    assert found is not None
    return found.group(1)


def _events(response: TestResponse) -> list[dict[str, object]]:
    found = re.search(r"data-onramp-events='([^']*)'", response.get_data(as_text=True))
    return json.loads(found.group(1).replace("&#39;", "'")) if found else []


def _go_to_connect(client: FlaskClient) -> None:
    client.post("/journey/welcome")
    client.post("/journey/consent", data=REQUIRED_CONSENTS)
    client.post("/journey/software", data={"platform": "sandbox"})


def _handoff_urls(page: TestResponse) -> dict[str, str]:
    html = page.get_data(as_text=True)
    popup = re.search(r'data-onramp-popup="([^"]+)"', html)
    top = re.search(r'href="(/connect/handoff/[^"]+)" target="_top"', html)
    assert popup is not None and top is not None
    return {"popup": popup.group(1), "top": top.group(1)}


def _only(app: Flask, model: type[JourneyRun] | type[Connection]) -> JourneyRun | Connection:
    with app.app_context():
        return db.session.scalars(select(model)).one()


# Framing


def test_journey_pages_may_be_framed_by_the_journeys_allowed_origins(framed: FlaskClient) -> None:
    page = framed.get("/journey/welcome")
    assert _frame_ancestors(page) == SHOP
    # X-Frame-Options could only say DENY to everyone: frame-ancestors decides alone.
    assert "X-Frame-Options" not in page.headers


def test_a_journey_without_allowed_origins_stays_unframeable(client: FlaskClient) -> None:
    # journeys/business.yaml has no integration section.
    client.get(journey_link_for(client.application, "business"))
    page = client.get("/journey", follow_redirects=True)
    assert page.status_code == 200
    assert _frame_ancestors(page) == "'none'"
    assert page.headers["X-Frame-Options"] == "DENY"


def journey_link_for(app: Flask, journey_id: str) -> str:
    with app.app_context():
        customer = create_customer("Quayside Ltd", "owner@quayside.example")
        return journey_link(customer.public_id, journey_id).removeprefix("http://localhost")


def test_pages_outside_a_journey_stay_unframeable(client: FlaskClient) -> None:
    for path in ("/journey/welcome", "/sandbox/authorize", "/no-such-page"):
        response = client.get(path)
        assert _frame_ancestors(response) == "'none'", path
        assert response.headers["X-Frame-Options"] == "DENY", path


@pytest.mark.parametrize(
    "origin",
    ["https://evil.example", "https://shop.example.evil.example", "http://shop.example", "*"],
)
def test_a_frame_on_a_site_the_journey_does_not_allow_is_refused(
    client: FlaskClient, app: Flask, origin: str
) -> None:
    response = client.get(_link(app) + "?embed=" + origin)
    assert response.status_code == 400
    assert "can't be shown on this site" in text_of(response)
    # Nothing started, and the error page can't be framed either.
    with app.app_context():
        assert db.session.scalars(select(JourneyRun)).all() == []
    assert _frame_ancestors(response) == "'none'"


# The frame's session


def test_the_frames_session_cookie_is_partitioned(client: FlaskClient, app: Flask) -> None:
    response = client.get(_link(app) + "?embed=" + SHOP)
    cookie = response.headers["Set-Cookie"]
    assert "Partitioned" in cookie and "SameSite=None" in cookie and "Secure" in cookie
    assert "HttpOnly" in cookie


def test_a_hosted_journeys_session_cookie_stays_lax(client: FlaskClient, app: Flask) -> None:
    cookie = client.get(_link(app)).headers["Set-Cookie"]
    assert "SameSite=Lax" in cookie
    assert "Partitioned" not in cookie


def test_the_frame_reports_each_step_once_with_no_consent_wording(framed: FlaskClient) -> None:
    welcome = framed.get("/journey/welcome")
    assert _events(welcome) == [
        {"type": "ready", "journey_id": "default"},
        {"type": "step_changed", "step": "welcome"},
    ]
    # A refresh tells the host page nothing new.
    assert _events(framed.get("/journey/welcome")) == []
    framed.post("/journey/welcome")
    consent = framed.get("/journey/consent")
    assert _events(consent) == [{"type": "step_changed", "step": "consent"}]
    framed.post("/journey/consent", data=REQUIRED_CONSENTS)
    software = framed.get("/journey/software")
    assert _events(software) == [
        {
            "type": "consent",
            "decision": "granted",
            "granted": ["financial_statements", "invoices_bills"],
        },
        {"type": "step_changed", "step": "software"},
    ]
    assert '<meta name="onramp-host-origin" content="https://shop.example">' in text_of(software)


def test_a_hosted_journey_posts_no_events(client: FlaskClient, app: Flask) -> None:
    client.get(_link(app))
    page = client.get("/journey/welcome")
    assert _events(page) == []
    assert "embed/frame" not in text_of(page)


def test_declining_in_the_frame_reports_the_decision_and_the_outcome(framed: FlaskClient) -> None:
    framed.post("/journey/welcome")
    framed.post("/journey/consent", data={"decline": "Decline"})
    page = framed.get("/journey/declined")
    events = _events(page)
    assert {"type": "consent", "decision": "declined", "granted": []} in events
    finished = [e for e in events if e["type"] == "finished"]
    assert finished and finished[0]["outcome"] == "declined"


# Hosted mode: back to the business


def _linked_in_hosted_mode(
    client: FlaskClient, app: Flask, live_sandbox: LiveSandbox, return_url: str | None
) -> TestResponse:
    app.config["SANDBOX_URL"] = live_sandbox.url
    client.get(_link(app, return_url))
    _go_to_connect(client)
    authorize = client.post("/journey/connect").location
    callback = urlsplit(live_sandbox.authorize(authorize, "approve"))
    done = client.get(f"{callback.path}?{callback.query}", follow_redirects=True)
    assert done.request.path == "/journey/done"
    return done


def _return_href(page: TestResponse) -> str | None:
    found = re.search(r'<a class="button" href="([^"]+)"', page.get_data(as_text=True))
    return found.group(1).replace("&amp;", "&") if found else None


def test_the_done_page_returns_to_the_allowed_url_with_the_outcome(
    client: FlaskClient, app: Flask, live_sandbox: LiveSandbox
) -> None:
    done = _linked_in_hosted_mode(client, app, live_sandbox, RETURN)
    href = _return_href(done)
    assert href is not None
    url = urlsplit(href)
    assert f"{url.scheme}://{url.netloc}{url.path}" == "https://shop.example/onramp/back"
    query = parse_qs(url.query)
    with app.app_context():
        run = db.session.scalars(select(JourneyRun)).one()
        expected = {
            "ref": ["42"],
            "outcome": ["linked"],
            "customer_id": [run.customer.public_id],
            "connection_id": [run.connections[0].public_id],
        }
    assert query == expected
    assert "Return to Northwind Lending" in text_of(done)


def test_a_return_url_the_journey_does_not_allow_is_never_used(
    client: FlaskClient, app: Flask, live_sandbox: LiveSandbox
) -> None:
    done = _linked_in_hosted_mode(client, app, live_sandbox, "https://evil.example/onramp/")
    assert _return_href(done) is None
    assert "evil.example" not in text_of(done)


def test_the_status_parameters_of_the_return_url_itself_are_replaced(app: Flask) -> None:
    from app.journey.embed import Outcome, with_status

    url = with_status(
        "https://shop.example/back?outcome=linked&x=1#top", Outcome("declined", "cus_1")
    )
    assert url == "https://shop.example/back?x=1&outcome=declined&customer_id=cus_1#top"


def test_the_declined_page_offers_the_way_back(client: FlaskClient, app: Flask) -> None:
    client.get(_link(app, RETURN))
    client.post("/journey/welcome")
    client.post("/journey/consent", data={"decline": "Decline"})
    page = client.get("/journey/declined")
    found = re.search(r'href="(https://shop\.example/[^"]+)"', page.get_data(as_text=True))
    assert found is not None
    query = parse_qs(urlsplit(found.group(1).replace("&amp;", "&")).query)
    assert query["outcome"] == ["declined"] and query["ref"] == ["42"]
    assert "connection_id" not in query


# The provider's popup


def test_the_frames_connect_button_hands_the_run_to_a_popup(
    framed: FlaskClient, app: Flask, live_sandbox: LiveSandbox
) -> None:
    app.config["SANDBOX_URL"] = live_sandbox.url
    _go_to_connect(framed)
    connect = framed.get("/journey/connect")
    urls = _handoff_urls(connect)
    # The popup is a top-level window: it shares none of the frame's cookies.
    popup = app.test_client()
    started = popup.get(urls["popup"])
    assert started.status_code == 303
    assert started.location.startswith(live_sandbox.url)
    assert started.headers["Referrer-Policy"] == "no-referrer"
    assert started.headers["Cross-Origin-Opener-Policy"] == "unsafe-none"
    assert framed.get("/journey/embed/status").json["state"] == "waiting"

    callback = urlsplit(live_sandbox.authorize(started.location, "approve"))
    finished = popup.get(f"{callback.path}?{callback.query}")
    assert finished.status_code == 200
    text = text_of(finished)
    assert "is now connected to Northwind Lending" in text
    assert re.search(r"/static/embed/popup-[0-9a-f]{32}\.js", text)
    # Kept in the opener's browsing context group, so the frame sees the window close.
    assert finished.headers["Cross-Origin-Opener-Policy"] == "unsafe-none"
    assert finished.headers["Cache-Control"] == "no-store"

    status = framed.get("/journey/embed/status").json
    connection = _only(app, Connection)
    assert status == {"state": "linked", "connection": connection.public_id, "next": "/journey"}
    done = framed.get("/journey", follow_redirects=True)
    assert done.request.path == "/journey/done"
    events = _events(done)
    assert {
        "type": "connection",
        "status": "linked",
        "platform": "sandbox",
        "connection_id": connection.public_id,
    } in events
    assert events[-1]["type"] == "finished" and events[-1]["outcome"] == "linked"
    assert events[-1]["connection_id"] == connection.public_id


def test_a_handoff_token_works_once(framed: FlaskClient, app: Flask) -> None:
    _go_to_connect(framed)
    urls = _handoff_urls(framed.get("/journey/connect"))
    assert app.test_client().get(urls["popup"]).status_code == 303
    again = app.test_client().get(urls["popup"])
    assert again.status_code == 410
    assert "already been used or has expired" in text_of(again)
    # Its twin for the whole tab named the same attempt: used up too.
    assert app.test_client().get(urls["top"]).status_code == 410


@pytest.mark.parametrize("tamper", ["flip", "truncate", "garbage"])
def test_a_tampered_handoff_token_is_refused(framed: FlaskClient, tamper: str) -> None:
    _go_to_connect(framed)
    url = _handoff_urls(framed.get("/journey/connect"))["popup"]
    token = url.rsplit("/", 1)[1]
    changed = {
        "flip": token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB"),
        "truncate": token[: len(token) // 2],
        "garbage": "not-a-token",
    }[tamper]
    response = framed.application.test_client().get(f"/connect/handoff/{changed}")
    assert response.status_code == 400
    assert "isn't valid" in text_of(response)
    with framed.application.app_context():
        assert db.session.scalars(select(Connection)).all() == []


def test_an_expired_handoff_token_is_refused(
    framed: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.journey import embed

    _go_to_connect(framed)
    url = _handoff_urls(framed.get("/journey/connect"))["popup"]
    monkeypatch.setattr(embed, "HANDOFF_MAX_AGE_SECONDS", -1)
    assert framed.application.test_client().get(url).status_code == 410


def test_without_javascript_the_whole_tab_leaves_for_the_provider_and_comes_back(
    framed: FlaskClient, app: Flask, live_sandbox: LiveSandbox
) -> None:
    app.config["SANDBOX_URL"] = live_sandbox.url
    _go_to_connect(framed)
    urls = _handoff_urls(framed.get("/journey/connect"))
    tab = app.test_client()
    started = tab.get(urls["top"])
    callback = urlsplit(live_sandbox.authorize(started.location, "approve"))
    done = tab.get(f"{callback.path}?{callback.query}", follow_redirects=True)
    # The journey carries on in the tab, hosted.
    assert done.request.path == "/journey/done"
    assert "is now connected to Northwind Lending" in text_of(done)


def test_closing_the_popup_early_leaves_a_way_to_try_again(
    framed: FlaskClient, app: Flask, live_sandbox: LiveSandbox
) -> None:
    app.config["SANDBOX_URL"] = live_sandbox.url
    _go_to_connect(framed)
    first = _handoff_urls(framed.get("/journey/connect"))
    app.test_client().get(first["popup"])  # the window is then closed at the provider
    status = framed.get("/journey/embed/status").json
    assert status["state"] == "waiting"
    page = framed.get("/journey/connect?closed=provider")
    text = text_of(page)
    assert "The Sandbox Accounting window was closed" in text
    assert "Try again" in text
    # The page watches the open attempt, in case the window finishes after all.
    assert 'data-onramp-watch="/journey/embed/status"' in text
    retry = _handoff_urls(page)
    assert retry != first
    popup = app.test_client()
    callback = urlsplit(live_sandbox.authorize(popup.get(retry["popup"]).location, "approve"))
    assert popup.get(f"{callback.path}?{callback.query}").status_code == 200
    assert framed.get("/journey/embed/status").json["state"] == "linked"

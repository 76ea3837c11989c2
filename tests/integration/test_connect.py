"""Connecting: a real authorization-code + PKCE flow against the Sandbox over HTTP,
and every way the provider's redirect back can go wrong."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app import clock
from app.connections import flows
from app.extensions import db
from app.models import Connection, JourneyRun, OAuthFlow, OutboxEvent
from app.sandbox.data import DEMO
from app.vault import decrypt_json
from tests.impersonation import LIST_ORGANISATIONS
from tests.integration.conftest import LiveSandbox
from tests.pages import text_of


def _start(client: FlaskClient) -> str:
    response = client.post("/journey/connect")
    assert response.status_code == 303
    return str(response.location)


def _callback_path(url: str) -> str:
    parts = urlsplit(url)
    assert parts.netloc == "localhost"
    return f"{parts.path}?{parts.query}"


def _connections(app: Flask) -> list[Connection]:
    with app.app_context():
        return list(db.session.scalars(select(Connection).order_by(Connection.id)))


def _run(app: Flask) -> JourneyRun:
    with app.app_context():
        return db.session.scalars(select(JourneyRun)).one()


def test_the_authorization_request_uses_pkce_state_and_the_exact_redirect(
    connecting: FlaskClient, live_sandbox: LiveSandbox
) -> None:
    url = _start(connecting)
    assert url.startswith(live_sandbox.url + "/authorize?")
    query = parse_qs(urlsplit(url).query)
    assert query["response_type"] == ["code"]
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) == 43
    assert len(query["state"][0]) >= 32
    assert query["redirect_uri"] == ["http://localhost/connect/sandbox/callback"]


def test_approving_links_the_chosen_organisation(
    app: Flask, connecting: FlaskClient, live_sandbox: LiveSandbox
) -> None:
    callback = live_sandbox.authorize(_start(connecting), "approve", organisation=1)
    response = connecting.get(_callback_path(callback))
    assert response.status_code == 303
    assert response.location.endswith("/journey/done")
    assert response.headers["Referrer-Policy"] == "no-referrer"
    page = text_of(connecting.get("/journey/done"))
    assert f"Connected to {DEMO.organisations[1].name}" in page
    assert "Step 5 of 5" in page

    [connection] = _connections(app)
    assert connection.status == "linked"
    assert connection.org_id == DEMO.organisations[1].id
    assert connection.org_name == DEMO.organisations[1].name
    assert connection.token_expires_at is not None
    with app.app_context():
        token = decrypt_json(connection.token_ciphertext or "")
    assert token["access_token"] not in (connection.token_ciphertext or "")
    assert token["refresh_token"]
    assert _run(app).status == "completed"


def test_the_code_verifier_is_not_kept_in_the_clear(app: Flask, connecting: FlaskClient) -> None:
    url = _start(connecting)
    with app.app_context():
        flow = db.session.scalars(select(OAuthFlow)).one()
    state = parse_qs(urlsplit(url).query)["state"][0]
    assert state not in flow.state_hash
    assert len(flow.code_verifier_ciphertext) > 64


def test_denying_fails_the_connection_and_offers_a_retry(
    app: Flask, connecting: FlaskClient, live_sandbox: LiveSandbox
) -> None:
    callback = live_sandbox.authorize(_start(connecting), "deny")
    assert "error=access_denied" in callback
    response = connecting.get(_callback_path(callback), follow_redirects=True)
    page = text_of(response)
    assert "You chose not to allow access" in page
    assert "Try again" in page
    assert "Step 4 of 5" in page
    [connection] = _connections(app)
    assert (connection.status, connection.last_error) == ("failed", "access_denied")

    retry = live_sandbox.authorize(_start(connecting), "approve")
    assert connecting.get(_callback_path(retry)).location.endswith("/journey/done")
    assert [c.status for c in _connections(app)] == ["failed", "linked"]


def test_a_simulated_provider_error_is_explained(
    app: Flask, connecting: FlaskClient, live_sandbox: LiveSandbox
) -> None:
    callback = live_sandbox.authorize(_start(connecting), "simulate_error")
    page = text_of(connecting.get(_callback_path(callback), follow_redirects=True))
    assert "Your accounting software reported a problem" in page
    [connection] = _connections(app)
    assert connection.last_error == "provider_error"
    assert "server_error" in (connection.last_error_detail or "")


def test_a_replayed_callback_changes_nothing(
    app: Flask, connecting: FlaskClient, live_sandbox: LiveSandbox
) -> None:
    callback = _callback_path(live_sandbox.authorize(_start(connecting), "approve"))
    connecting.get(callback)
    again = connecting.get(callback)
    assert again.location.endswith("/journey/done")
    [connection] = _connections(app)
    assert connection.status == "linked"


def test_a_replayed_callback_of_a_failed_attempt_cannot_link(
    app: Flask, connecting: FlaskClient, live_sandbox: LiveSandbox
) -> None:
    callback = _callback_path(live_sandbox.authorize(_start(connecting), "deny"))
    connecting.get(callback)
    page = text_of(connecting.get(callback, follow_redirects=True))
    assert "Try again" in page
    [connection] = _connections(app)
    assert (connection.status, connection.last_error) == ("failed", "access_denied")


def test_a_callback_used_again_while_its_first_use_is_finishing_waits_for_it(
    app: Flask, connecting: FlaskClient, live_sandbox: LiveSandbox
) -> None:
    """A slow platform, and a customer who refreshes the page meanwhile: the second
    request must not fail the attempt the first is still completing."""
    callback = _callback_path(live_sandbox.authorize(_start(connecting), "approve"))
    state = parse_qs(urlsplit(callback).query)["state"][0]
    with app.app_context():
        flows.take_flow(state)  # the first request took it and is still at work

    response = connecting.get(callback)
    assert response.status_code == 303
    assert response.location.endswith("/journey/connect?finishing=1")
    page = text_of(connecting.get(response.location))
    assert "We're still finishing connecting" in page
    assert "Sandbox Accounting has answered and we're completing the connection." in page
    [connection] = _connections(app)
    assert (connection.status, connection.last_error) == ("pending", None)
    with app.app_context():
        types = db.session.scalars(select(OutboxEvent.type)).all()
    assert "connection.failed" not in types
    # Without ?finishing, or once the attempt is over, the page says nothing of it.
    assert "still finishing" not in text_of(connecting.get("/journey/connect"))
    # Another browser with the same address is given nothing, and changes nothing.
    stranger = app.test_client().get(callback)
    assert stranger.status_code == 400
    assert "We couldn't match this sign-in to a journey" in text_of(stranger)
    assert [(c.status, c.last_error) for c in _connections(app)] == [("pending", None)]


def test_a_replayed_state_with_a_pending_attempt_is_refused(
    app: Flask, connecting: FlaskClient, live_sandbox: LiveSandbox
) -> None:
    callback = live_sandbox.authorize(_start(connecting), "approve")
    state = parse_qs(urlsplit(callback).query)["state"][0]
    # An attacker who saw the state but not the code uses it first.
    connecting.get("/connect/sandbox/callback?" + urlencode({"state": state, "code": "forged"}))
    response = connecting.get(_callback_path(callback), follow_redirects=True)
    assert "Try again" in text_of(response)
    assert [c.status for c in _connections(app)] == ["failed"]


@pytest.mark.parametrize(
    ("query", "reason", "message"),
    [
        ({"code": "abc"}, "state_missing", "We couldn't match your sign-in to this journey"),
        ({"code": "abc", "state": "made-up"}, "state_mismatch", "We couldn't match your sign-in"),
    ],
)
def test_a_callback_without_a_known_state_fails_the_pending_attempt(
    app: Flask, connecting: FlaskClient, query: dict[str, str], reason: str, message: str
) -> None:
    _start(connecting)
    response = connecting.get(
        "/connect/sandbox/callback?" + urlencode(query), follow_redirects=True
    )
    assert response.status_code == 200
    assert message in text_of(response)
    [connection] = _connections(app)
    assert (connection.status, connection.last_error) == ("failed", reason)


def test_a_failed_code_exchange_is_explained(app: Flask, connecting: FlaskClient) -> None:
    url = _start(connecting)
    state = parse_qs(urlsplit(url).query)["state"][0]
    iss = app.config["SANDBOX_URL"]
    response = connecting.get(
        "/connect/sandbox/callback?"
        + urlencode({"state": state, "code": "not-a-real-code", "iss": iss}),
        follow_redirects=True,
    )
    assert "We couldn't finish connecting" in text_of(response)
    [connection] = _connections(app)
    assert (connection.status, connection.last_error) == ("failed", "exchange_failed")


def test_an_unreachable_provider_is_a_failed_exchange_not_a_crash(
    app: Flask, connecting: FlaskClient
) -> None:
    url = _start(connecting)
    iss = app.config["SANDBOX_URL"]
    app.config["SANDBOX_URL"] = "http://127.0.0.1:9/sandbox"
    state = parse_qs(urlsplit(url).query)["state"][0]
    response = connecting.get(
        "/connect/sandbox/callback?" + urlencode({"state": state, "code": "abc", "iss": iss}),
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert [c.last_error for c in _connections(app)] == ["exchange_failed"]


def test_a_different_issuer_is_refused(
    app: Flask, connecting: FlaskClient, live_sandbox: LiveSandbox
) -> None:
    callback = live_sandbox.authorize(_start(connecting), "approve")
    tampered = callback.replace("iss=", "iss=https%3A%2F%2Fevil.example&was=")
    connecting.get(_callback_path(tampered))
    [connection] = _connections(app)
    assert (connection.status, connection.last_error) == ("failed", "issuer_mismatch")


def test_a_callback_without_iss_is_refused_when_the_platform_always_sends_it(
    app: Flask, connecting: FlaskClient, live_sandbox: LiveSandbox
) -> None:
    """The Sandbox's metadata says authorization_response_iss_parameter_supported (RFC
    9207): a redirect back without iss may come from a mix-up attack, and links nothing."""
    callback = live_sandbox.authorize(_start(connecting), "approve")
    parts = urlsplit(callback)
    without_iss = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != "iss"])
    page = text_of(connecting.get(f"{parts.path}?{without_iss}", follow_redirects=True))
    assert "Try again" in page
    [connection] = _connections(app)
    assert (connection.status, connection.last_error) == ("failed", "issuer_mismatch")
    assert connection.last_error_detail == "callback without iss"
    assert connection.token_ciphertext is None


def test_a_callback_on_another_platforms_url_is_refused(
    app: Flask, connecting: FlaskClient, live_sandbox: LiveSandbox
) -> None:
    callback = live_sandbox.authorize(_start(connecting), "approve")
    mixed_up = _callback_path(callback).replace("/connect/sandbox/", "/connect/xero/")
    connecting.get(mixed_up)
    [connection] = _connections(app)
    assert (connection.status, connection.last_error) == ("failed", "platform_mismatch")


def test_an_expired_flow_is_refused(
    app: Flask, connecting: FlaskClient, live_sandbox: LiveSandbox
) -> None:
    app.config["OAUTH_FLOW_TTL_SECONDS"] = -1
    callback = live_sandbox.authorize(_start(connecting), "approve")
    page = text_of(connecting.get(_callback_path(callback), follow_redirects=True))
    assert "The sign-in took too long" in page
    assert [c.last_error for c in _connections(app)] == ["expired"]


def _other_customers_browser(app: Flask) -> FlaskClient:
    """Another customer's browser, on its own journey."""
    with app.app_context():
        from app.customers.records import create_customer
        from app.links import journey_link

        other = create_customer("Other Ltd", "other@example.com")
        other_link = journey_link(other.public_id, "default").removeprefix("http://localhost")
    browser = app.test_client()
    browser.get(other_link)
    return browser


def _as_seen(browser: FlaskClient) -> list[tuple[int, str]]:
    """What this browser is shown of a journey and of a customer's own page."""
    pages = [browser.get("/journey", follow_redirects=True), browser.get("/my")]
    # Forms carry a fresh CSRF token on every page: that is not a difference.
    return [(page.status_code, re.sub(r"[\w.-]{40,}", "…", page.text)) for page in pages]


def _assert_shown_nothing(browser: FlaskClient, callback: str) -> None:
    """The neutral page, and the browser sees afterwards just what it saw before."""
    before = _as_seen(browser)
    response = browser.get(callback)
    assert response.status_code == 400
    assert "We couldn't match this sign-in to a journey" in text_of(response)
    assert _as_seen(browser) == before


def _withdrawn_or_disconnected(app: Flask) -> None:
    from app.connections.lifecycle import disconnect

    with app.app_context():
        connection = db.session.scalars(select(Connection)).one()
        disconnect(connection)
        db.session.commit()


@pytest.mark.parametrize("outcome", ["linked", "disconnected", "denied"])
@pytest.mark.parametrize("who", ["no journey", "another customer"])
def test_a_used_callback_address_opened_elsewhere_takes_over_nothing(
    app: Flask, connecting: FlaskClient, live_sandbox: LiveSandbox, outcome: str, who: str
) -> None:
    """The audit's first finding: a used callback address, opened in any other browser,
    bound it to the customer's run and their consents page."""
    action = "deny" if outcome == "denied" else "approve"
    callback = _callback_path(live_sandbox.authorize(_start(connecting), action))
    connecting.get(callback)
    if outcome == "disconnected":
        _withdrawn_or_disconnected(app)
    before = [(c.status, c.last_error, c.org_id) for c in _connections(app)]
    stranger = app.test_client() if who == "no journey" else _other_customers_browser(app)

    _assert_shown_nothing(stranger, callback)
    assert [(c.status, c.last_error, c.org_id) for c in _connections(app)] == before
    # The customer's own browser is still theirs.
    assert connecting.get("/my").status_code == 200


@pytest.mark.parametrize("who", ["no journey", "another customer"])
def test_an_unused_callback_opened_first_elsewhere_is_left_for_the_customer(
    app: Flask, connecting: FlaskClient, live_sandbox: LiveSandbox, who: str
) -> None:
    callback = _callback_path(live_sandbox.authorize(_start(connecting), "approve"))
    stranger = app.test_client() if who == "no journey" else _other_customers_browser(app)

    _assert_shown_nothing(stranger, callback)
    assert [(c.status, c.last_error) for c in _connections(app)] == [("pending", None)]
    # Nothing was claimed: the customer who started the sign-in still finishes it.
    assert connecting.get(callback).location.endswith("/journey/done")
    assert [c.status for c in _connections(app)] == ["linked"]


def test_a_callback_address_is_forgotten_after_its_memory_ends(
    app: Flask, connecting: FlaskClient, live_sandbox: LiveSandbox
) -> None:
    """The database flow store forgets a request as Redis would: its lifetime plus the
    two days a used state is remembered."""
    callback = _callback_path(live_sandbox.authorize(_start(connecting), "deny"))
    connecting.get(callback)
    with app.app_context():
        flow = db.session.scalars(select(OAuthFlow)).one()
        flow.expires_at = clock.now() - flows.USED_MEMORY - timedelta(minutes=1)
        db.session.commit()
    _start(connecting)  # a new request sweeps the forgotten ones away
    with app.app_context():
        assert db.session.scalars(select(OAuthFlow.connection_id)).all() == [2]
    assert "Try again" not in text_of(app.test_client().get(callback))


def test_the_customer_page_needs_the_customers_link_not_just_a_run(
    app: Flask, connecting: FlaskClient
) -> None:
    """A session that reached a run some other way (as a hijacked callback once did) is
    not let into the customer's own page."""
    run = _run(app)
    browser = app.test_client()
    with browser.session_transaction() as session:
        session["run"] = run.public_id
    response = browser.get("/my")
    assert response.status_code == 403
    assert "Open your link to see this page" in text_of(response)
    assert connecting.get("/my").status_code == 200


def test_a_callback_with_no_journey_at_all_gets_a_friendly_page(client: FlaskClient) -> None:
    response = client.get("/connect/sandbox/callback?code=abc&state=xyz")
    assert response.status_code == 400
    assert "We couldn't match this sign-in to a journey" in text_of(response)
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_abandoning_the_provider_is_noticed(app: Flask, connecting: FlaskClient) -> None:
    _start(connecting)
    page = text_of(connecting.get("/journey/connect"))
    assert "You haven't finished connecting yet" in page
    _start(connecting)
    assert [(c.status, c.last_error) for c in _connections(app)] == [
        ("failed", "abandoned"),
        ("pending", None),
    ]


def test_the_connect_page_allows_posting_on_to_the_provider(
    connecting: FlaskClient, live_sandbox: LiveSandbox
) -> None:
    csp = connecting.get("/journey/connect").headers["Content-Security-Policy"]
    assert f"form-action 'self' {live_sandbox.url.removesuffix('/sandbox')}" in csp


def test_several_organisations_are_offered_to_choose_from(
    app: Flask, connecting: FlaskClient, live_sandbox: LiveSandbox
) -> None:
    app.config["PLATFORM_OVERRIDES"] = LIST_ORGANISATIONS
    callback = live_sandbox.authorize(_start(connecting), "approve")
    response = connecting.get(_callback_path(callback))
    assert response.location.endswith("/journey/organisation")
    page = text_of(connecting.get("/journey/organisation"))
    assert "Choose the organisation" in page
    for organisation in DEMO.organisations:
        assert organisation.name in page
    [pending] = _connections(app)
    assert pending.status == "pending"

    missing = connecting.post("/journey/organisation", data={})
    assert missing.status_code == 422
    assert "Choose the organisation to connect" in text_of(missing)
    forged = connecting.post("/journey/organisation", data={"organisation": "someone-else"})
    assert "Choose one of the organisations listed" in text_of(forged)

    chosen = connecting.post(
        "/journey/organisation", data={"organisation": DEMO.organisations[2].id}
    )
    assert chosen.location.endswith("/journey/done")
    [connection] = _connections(app)
    assert (connection.status, connection.org_name) == ("linked", DEMO.organisations[2].name)
    assert connection.candidates is None
    # Once linked there is nothing left to choose.
    assert connecting.get("/journey/organisation").location.endswith("/journey/done")


def test_a_fragments_title_is_escaped_once(
    connecting: FlaskClient, live_sandbox: LiveSandbox
) -> None:
    connecting.get(_callback_path(live_sandbox.authorize(_start(connecting), "approve")))
    fragment = connecting.get(
        "/journey/done", headers={"HX-Request": "true", "HX-Target": "div#journey"}
    )
    assert fragment.get_data(as_text=True).startswith("<title>You&#39;re connected · ")


def test_a_failed_connection_says_whether_the_customer_can_retry(
    app: Flask, connecting: FlaskClient, live_sandbox: LiveSandbox
) -> None:
    connecting.get(_callback_path(live_sandbox.authorize(_start(connecting), "deny")))
    [denied] = _connections(app)
    assert denied.retryable is True
    url = _start(connecting)
    app.config["SANDBOX_URL"] = None  # the platform went away meanwhile
    state = parse_qs(urlsplit(url).query)["state"][0]
    connecting.get("/connect/sandbox/callback?" + urlencode({"state": state, "code": "abc"}))
    latest = _connections(app)[-1]
    assert (latest.last_error, latest.retryable) == ("platform_unavailable", False)


def _interrupted(app: Flask, callback: str, seconds_ago: int) -> None:
    """What a process that died during the token exchange leaves behind: the callback's
    request was taken and the attempt claimed, and nothing after that was written."""
    state = parse_qs(urlsplit(callback).query)["state"][0]
    with app.app_context():
        flows.take_flow(state)
        connection = db.session.scalars(select(Connection)).one()
        connection.claimed_at = clock.now() - timedelta(seconds=seconds_ago)
        db.session.commit()


def _failure_events(app: Flask) -> list[str]:
    with app.app_context():
        events = db.session.scalars(
            select(OutboxEvent).where(OutboxEvent.type == "connection.failed")
        )
        return [str(event.data["reason"]) for event in events]


def test_an_attempt_interrupted_during_the_exchange_fails_instead_of_looping(
    app: Flask, connecting: FlaskClient, live_sandbox: LiveSandbox
) -> None:
    """The database went away during the token exchange: "Check again" must not loop."""
    callback = _callback_path(live_sandbox.authorize(_start(connecting), "approve"))
    _interrupted(app, callback, seconds_ago=30)
    waiting = connecting.get(callback)
    assert waiting.location.endswith("/journey/connect?finishing=1")
    assert "We're still finishing connecting" in text_of(connecting.get(waiting.location))

    _interrupted(app, callback, seconds_ago=app.config["CONNECTION_FINISH_SECONDS"] + 1)
    page = text_of(connecting.get(waiting.location))
    assert "Connecting was interrupted" in page
    assert "still finishing" not in page
    assert "Try again" in page
    [connection] = _connections(app)
    assert (connection.status, connection.last_error) == ("failed", "interrupted")
    assert _failure_events(app) == ["interrupted"]

    retry = live_sandbox.authorize(_start(connecting), "approve")
    assert connecting.get(_callback_path(retry)).location.endswith("/journey/done")


def test_the_worker_fails_attempts_that_can_no_longer_finish_once(
    app: Flask, connecting: FlaskClient, live_sandbox: LiveSandbox
) -> None:
    from app.connections.authorization import fail_stuck_connections

    callback = _callback_path(live_sandbox.authorize(_start(connecting), "approve"))
    with app.app_context():
        assert fail_stuck_connections() == 0
    _interrupted(app, callback, seconds_ago=app.config["CONNECTION_FINISH_SECONDS"] + 1)
    with app.app_context():
        assert fail_stuck_connections() == 1
        assert fail_stuck_connections() == 0
    assert [(c.status, c.last_error) for c in _connections(app)] == [("failed", "interrupted")]
    assert _failure_events(app) == ["interrupted"]


def test_the_worker_fails_an_attempt_nobody_came_back_to(
    app: Flask, connecting: FlaskClient
) -> None:
    from app.connections.authorization import fail_stuck_connections

    _start(connecting)
    with app.app_context():
        connection = db.session.scalars(select(Connection)).one()
        lifetime = app.config["OAUTH_FLOW_TTL_SECONDS"] + app.config["CONNECTION_FINISH_SECONDS"]
        connection.created_at = clock.now() - timedelta(seconds=lifetime + 1)
        db.session.commit()
        assert fail_stuck_connections() == 1
    assert [(c.status, c.last_error) for c in _connections(app)] == [("failed", "abandoned")]
    assert _failure_events(app) == ["abandoned"]

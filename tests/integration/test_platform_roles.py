"""A platform that reports the signed-in user's role: a role too weak for the access asked
is refused before anything is linked (role_too_weak); a strong one, or an adviser's,
connects; a platform that reports no role connects as before."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.models import Connection, Customer, JourneyEvent, OutboxEvent
from app.sandbox import grants
from app.sandbox.data import ACME, ADVISER_USER, BLUEBELL, DEMO, INVOICES_USER
from tests.admin import signed_in_as
from tests.integration.api_helpers import Api, create_key
from tests.integration.conftest import LiveSandbox
from tests.pages import text_of

CLERK = (INVOICES_USER.email, INVOICES_USER.password)
ADVISER = (ADVISER_USER.email, ADVISER_USER.password)


def _start(client: FlaskClient) -> str:
    response = client.post("/journey/connect")
    assert response.status_code == 303
    return str(response.location)


def _back(client: FlaskClient, callback: str) -> str:
    parts = urlsplit(callback)
    response = client.get(f"{parts.path}?{parts.query}")
    assert response.status_code == 303
    return str(response.location)


def _connections(app: Flask) -> list[Connection]:
    with app.app_context():
        return list(db.session.scalars(select(Connection).order_by(Connection.id)))


def _clerk_grants(live_sandbox: LiveSandbox) -> set[str]:
    """The approvals the clerk's login has live at the Sandbox (it outlives each test)."""
    with live_sandbox.app.app_context():
        return {grant.grant_id for grant in grants.granted(INVOICES_USER.email)}


def _sent(app: Flask, event_type: str) -> list[OutboxEvent]:
    with app.app_context():
        query = select(OutboxEvent).where(OutboxEvent.type == event_type)
        return list(db.session.scalars(query.order_by(OutboxEvent.id)))


def test_an_invoice_only_login_is_refused_and_told_whom_to_ask(
    app: Flask, connecting: FlaskClient, live_sandbox: LiveSandbox
) -> None:
    before = _clerk_grants(live_sandbox)
    callback = live_sandbox.authorize(_start(connecting), organisation=BLUEBELL.id, login=CLERK)

    location = _back(connecting, callback)

    assert location.endswith("/journey/connect")
    page = connecting.get(location)
    assert page.status_code == 200
    text = text_of(page)
    assert "Your role in Bluebell Bakery Ltd can't give access" in text
    assert "as invoices@sandbox.test, whose role in Bluebell Bakery Ltd is “Invoice only”" in text
    assert "one of: Standard, Adviser" in text
    assert "your accountant" in text
    assert "Try again with another login" in text
    [connection] = _connections(app)
    assert (connection.status, connection.last_error) == ("failed", "role_too_weak")
    assert connection.provider_user_role == "invoice_only"
    assert connection.token_ciphertext is None
    assert _sent(app, "connection.linked") == []
    [failed] = _sent(app, "connection.failed")
    assert failed.data["reason"] == "role_too_weak"
    with app.app_context():
        steps = db.session.scalars(select(JourneyEvent.kind)).all()
    assert "failed" in steps  # the connect step, in the funnel
    # The access the clerk gave is handed back at the platform.
    assert _clerk_grants(live_sandbox) == before
    # The console's timeline says who signed in with which role, and why it failed.
    with app.app_context():
        customer_id = db.session.get_one(Customer, connection.customer_id).public_id
    timeline = text_of(signed_in_as(app, "viewer").get(f"/admin/customers/{customer_id}"))
    assert "Signed in at Sandbox Accounting as invoices@sandbox.test, role invoice_only" in timeline
    assert "Last error role_too_weak" in timeline


def test_a_read_only_login_is_refused_too(
    app: Flask, connecting: FlaskClient, live_sandbox: LiveSandbox
) -> None:
    callback = live_sandbox.authorize(_start(connecting), organisation=ACME.id, login=CLERK)

    _back(connecting, callback)

    [connection] = _connections(app)
    assert (connection.last_error, connection.provider_user_role) == ("role_too_weak", "read_only")


def test_after_a_refusal_an_adviser_connects_the_same_organisation(
    app: Flask, connecting: FlaskClient, live_sandbox: LiveSandbox
) -> None:
    live_sandbox.authorize(_start(connecting), organisation=BLUEBELL.id, login=CLERK)
    refused = live_sandbox.authorize(_start(connecting), organisation=BLUEBELL.id, login=CLERK)
    _back(connecting, refused)

    callback = live_sandbox.authorize(_start(connecting), organisation=BLUEBELL.id, login=ADVISER)
    location = _back(connecting, callback)

    assert location.endswith("/journey/done")
    assert "Connected to Bluebell Bakery Ltd" in text_of(connecting.get(location))
    linked = [c for c in _connections(app) if c.status == "linked"]
    assert [(c.org_id, c.provider_user_role) for c in linked] == [(BLUEBELL.id, "adviser")]
    assert linked[0].provider_user == ADVISER_USER.email


def test_a_standard_login_connects_and_its_role_is_shown_to_the_business(
    app: Flask,
    connecting: FlaskClient,
    live_sandbox: LiveSandbox,
) -> None:
    callback = live_sandbox.authorize(_start(connecting), organisation=1)

    assert _back(connecting, callback).endswith("/journey/done")

    [connection] = _connections(app)
    assert (connection.status, connection.provider_user_role) == ("linked", "standard")
    api = Api(app.test_client(), create_key(app, "read"))
    listed = api.get("/api/v1/connections").get_json()["data"]
    assert [c["provider_user_role"] for c in listed] == ["standard"]


def test_a_platform_that_reports_no_role_connects_as_before(
    app: Flask, connecting: FlaskClient, live_sandbox: LiveSandbox
) -> None:
    # The Sandbox's organisation look-up, read as a platform that names no role would be.
    app.config["PLATFORM_OVERRIDES"] = {
        "sandbox": {
            "organisation": {
                "strategy": "api",
                "url": "{sandbox_url}/api/organisation",
                "id": "id",
                "name": "name",
            }
        }
    }
    callback = live_sandbox.authorize(_start(connecting), organisation=BLUEBELL.id, login=CLERK)

    assert _back(connecting, callback).endswith("/journey/done")

    [connection] = _connections(app)
    assert (connection.status, connection.provider_user_role) == ("linked", None)
    assert connection.org_name == DEMO.organisations[1].name


def test_trying_again_after_a_refusal_asks_the_platform_for_a_login_again(
    connecting: FlaskClient, live_sandbox: LiveSandbox
) -> None:
    first = _start(connecting)
    assert "prompt=login" not in first
    _back(connecting, live_sandbox.authorize(first, organisation=BLUEBELL.id, login=CLERK))

    again = _start(connecting)

    assert "prompt=login" in again


# The Sandbox answering with every organisation the login sees, each with its role there.
LISTED_WITH_ROLES = {
    "sandbox": {
        "organisation": {
            "strategy": "list_api",
            "url": "{sandbox_url}/api/organisations",
            "list": "organisations",
            "id": "id",
            "name": "name",
            "role": "role",
        }
    }
}


def test_choosing_among_several_an_organisation_where_the_role_is_too_weak_is_refused(
    app: Flask, connecting: FlaskClient, live_sandbox: LiveSandbox
) -> None:
    app.config["PLATFORM_OVERRIDES"] = LISTED_WITH_ROLES
    before = _clerk_grants(live_sandbox)
    callback = live_sandbox.authorize(_start(connecting), organisation=BLUEBELL.id, login=CLERK)
    assert _back(connecting, callback).endswith("/journey/organisation")

    chosen = connecting.post("/journey/organisation", data={"organisation": ACME.id})

    assert chosen.status_code == 303
    assert chosen.location.endswith("/journey/connect")
    text = text_of(connecting.get(chosen.location))
    assert "Your role in Acme Trading Ltd can't give access" in text
    assert "is “Read only”" in text
    [connection] = _connections(app)
    assert (connection.status, connection.last_error) == ("failed", "role_too_weak")
    assert (connection.org_id, connection.provider_user_role) == (ACME.id, "read_only")
    assert connection.candidates is None and connection.token_ciphertext is None
    assert _clerk_grants(live_sandbox) == before


def test_an_adviser_choosing_among_their_clients_connects(
    app: Flask, connecting: FlaskClient, live_sandbox: LiveSandbox
) -> None:
    app.config["PLATFORM_OVERRIDES"] = LISTED_WITH_ROLES
    callback = live_sandbox.authorize(_start(connecting), organisation=BLUEBELL.id, login=ADVISER)
    _back(connecting, callback)
    page = text_of(connecting.get("/journey/organisation"))
    for organisation in ADVISER_USER.organisations:
        assert organisation.name in page

    chosen = connecting.post("/journey/organisation", data={"organisation": BLUEBELL.id})

    assert chosen.location.endswith("/journey/done")
    [connection] = _connections(app)
    assert (connection.status, connection.provider_user_role) == ("linked", "adviser")

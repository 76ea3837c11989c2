"""'Ask my accountant to do this': the customer names who connects for them; that person
opens a single-use link, signs in at the platform with their own login and connects; the
connection and the ledger say who authorised it, in what role."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from app import clock, mail
from app.customers.records import create_customer, erase_customer
from app.extensions import db
from app.links import journey_link
from app.models import (
    AuditEntry,
    Connection,
    ConsentRecord,
    Customer,
    Delegation,
    JourneyRun,
    OutboxEvent,
)
from app.sandbox.data import ADVISER_USER, BLUEBELL
from tests.admin import signed_in_as
from tests.impersonation import LIST_ORGANISATIONS
from tests.integration.conftest import REQUIRED_CONSENTS, LiveSandbox
from tests.mail_sink import smtp_sink
from tests.pages import text_of

ACCOUNTANT = {
    "name": "Jane Smith",
    "email": "jane@smith-accounts.example",
    "role": "accountant",
    "submit": "Create their link",
}


def _delegate(client: FlaskClient, **changes: str) -> str:
    """The customer asks someone to connect; the link shown to copy, as a path."""
    answered = client.post("/journey/delegate", data={**ACCOUNTANT, **changes})
    assert answered.status_code == 303, text_of(answered)
    assert answered.location == "/journey/delegate/sent"
    page = text_of(client.get(answered.location))
    found = re.search(r'href="http://localhost(/journey/delegated/[^"]+)"', page)
    assert found is not None, page
    return found.group(1)


def _types(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(OutboxEvent.type).order_by(OutboxEvent.id)))


def _event(app: Flask, event_type: str) -> dict[str, object]:
    with app.app_context():
        return dict(
            db.session.scalars(select(OutboxEvent).where(OutboxEvent.type == event_type)).one().data
        )


def _adviser_approves(live_sandbox: LiveSandbox, authorize_url: str) -> str:
    """The accountant signs in with their own login (the Sandbox's adviser, the customer's
    organisation among their clients) and approves; returns the callback URL."""
    return live_sandbox.authorize(
        authorize_url,
        "approve",
        organisation=BLUEBELL.id,
        login=(ADVISER_USER.email, ADVISER_USER.password),
    )


def _accountant_connects(
    app: Flask, link: str, live_sandbox: LiveSandbox
) -> tuple[FlaskClient, str]:
    """Another browser opens the link and connects; returns it and the page it ends on."""
    accountant = app.test_client()
    opened = accountant.get(link)
    assert opened.status_code == 303 and opened.location == "/journey/delegated"
    start = accountant.post("/journey/delegated", data={"submit": "Continue"})
    assert start.status_code == 303 and start.location.startswith(live_sandbox.url)
    callback = _adviser_approves(live_sandbox, str(start.location))
    back = accountant.get(callback.removeprefix("http://localhost"))
    assert back.status_code == 303, text_of(back)
    return accountant, str(back.location)


def test_the_connect_step_offers_it_and_the_form_asks_who(connecting: FlaskClient) -> None:
    page = text_of(connecting.get("/journey/connect"))
    assert '<a href="/journey/delegate">Ask my accountant to do this</a>' in page
    form = text_of(connecting.get("/journey/delegate"))
    assert "Ask someone to connect for you" in form
    assert "Their name" in form and "Their email address" in form
    for label in ("My accountant", "My bookkeeper", "Someone else I trust"):
        assert label in form
    assert "Northwind Lending" in form and "Onramp" not in form


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": ""}, "Enter the name of the person you're asking"),
        ({"name": "J" * 101}, "Write at most 100 characters"),
        ({"name": "Jane\u202eSmith"}, "Write their name in plain letters"),
        ({"email": "not an address"}, "Enter an email address like name@example.com"),
        ({"role": "owner"}, "Choose who they are"),
        ({"role": ""}, "Choose who they are"),
    ],
)
def test_bad_answers_are_named_and_nothing_is_created(
    app: Flask, connecting: FlaskClient, changes: dict[str, str], message: str
) -> None:
    refused = connecting.post("/journey/delegate", data={**ACCOUNTANT, **changes})
    assert refused.status_code == 422
    assert message in text_of(refused)
    with app.app_context():
        assert db.session.scalars(select(Delegation)).all() == []


def test_a_post_without_its_csrf_token_creates_nothing(app: Flask, connecting: FlaskClient) -> None:
    app.config["WTF_CSRF_ENABLED"] = True
    refused = connecting.post("/journey/delegate", data=ACCOUNTANT)
    assert refused.status_code in (400, 422)
    with app.app_context():
        assert db.session.scalars(select(Delegation)).all() == []


def test_not_offered_before_the_connect_step(customer_client: FlaskClient) -> None:
    # Still on the welcome step: the form sends the customer back where they are.
    refused = customer_client.post("/journey/delegate", data=ACCOUNTANT)
    assert refused.status_code == 303 and refused.location == "/journey"


def test_the_customer_gets_a_link_and_waits(app: Flask, connecting: FlaskClient) -> None:
    link = _delegate(connecting)
    with app.app_context():
        delegation = db.session.scalars(select(Delegation)).one()
        # Only a hash of the secret is kept, and the name and email only encrypted.
        assert link.rsplit("/", 1)[1] not in delegation.token_sha256
        assert "Jane" not in (delegation.personal_ciphertext or "")
        assert delegation.expires_at - delegation.created_at == timedelta(days=7)
    page = text_of(connecting.get("/journey/connect"))
    assert "Waiting for Jane Smith to connect" in page
    assert "Cancel the request" in page
    created = _event(app, "delegation.created")
    assert created["role"] == "accountant"
    assert "Jane" not in str(created)


def test_with_mail_the_link_is_emailed_to_them(app: Flask, connecting: FlaskClient) -> None:
    with smtp_sink() as (sink, settings):
        app.config.update(settings)
        answered = connecting.post("/journey/delegate", data=ACCOUNTANT)
        page = text_of(connecting.get(answered.location))
        assert "We've emailed it to Jane Smith." in page
        with app.app_context():
            mail.send_due()
    [message] = sink.to(ACCOUNTANT["email"])
    assert "Acme Ltd asks you to connect" in message["Subject"]
    body = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Northwind Lending" in body and "/journey/delegated/" in body


def test_the_accountant_connects_and_everyone_is_told(
    app: Flask, connecting: FlaskClient, live_sandbox: LiveSandbox
) -> None:
    link = _delegate(connecting)
    accountant, ended = _accountant_connects(app, link, live_sandbox)
    assert ended == "/journey/delegated/done"
    done = text_of(accountant.get(ended))
    assert "Done — Acme Ltd's accounting software is connected for Northwind Lending" in done

    with app.app_context():
        connection = db.session.scalars(select(Connection)).one()
        assert connection.status == "linked"
        assert connection.authorised_by_role == "accountant"
        run = db.session.scalars(select(JourneyRun)).one()
        assert run.status == "completed"
        scoped = db.session.scalars(
            select(ConsentRecord).where(ConsentRecord.decision == "scoped")
        ).all()
        assert scoped and {(r.actor_type, r.actor_id) for r in scoped} == {
            ("delegate", "accountant")
        }
        delegation = db.session.scalars(select(Delegation)).one()
        assert delegation.connection_id == connection.id
    assert "delegation.completed" in _types(app)
    assert _event(app, "connection.linked")["authorised_by_role"] == "accountant"
    # The customer's journey is done too, and their page says who connected.
    assert connecting.get("/journey").location == "/journey/done"
    mine = text_of(connecting.get("/my"))
    assert "Connected by" in mine and "Jane Smith (your accountant)" in mine
    # So does the console's timeline.
    with app.app_context():
        customer_id = db.session.scalars(select(Customer.public_id)).one()
    console = text_of(signed_in_as(app, "viewer").get(f"/admin/customers/{customer_id}"))
    assert "Connected by their accountant (Jane Smith)" in console
    assert '<th scope="col">Authorised by</th>' in console and "<td>accountant</td>" in console


def test_the_accountant_sees_what_was_agreed_but_never_the_consent_step(
    app: Flask, connecting: FlaskClient
) -> None:
    link = _delegate(connecting)
    accountant = app.test_client()
    accountant.get(link)
    page = text_of(accountant.get("/journey/delegated"))
    assert "Acme Ltd asked you to connect their Sandbox Accounting for Northwind Lending." in page
    assert "What Acme Ltd agreed to share" in page
    assert "Profit and loss, balance sheet and cash flow" in page
    assert "Continue to Sandbox Accounting" in page
    for step in ("consent", "welcome", "connect", "software"):
        assert accountant.get(f"/journey/{step}").status_code == 403
        assert accountant.post(f"/journey/{step}", data={}).status_code == 403


def test_the_link_works_once(app: Flask, connecting: FlaskClient) -> None:
    link = _delegate(connecting)
    first = app.test_client()
    assert first.get(link).status_code == 303
    # The browser that opened it may open it again; no other may.
    assert first.get(link).location == "/journey/delegated"
    other = app.test_client()
    refused = other.get(link)
    assert refused.status_code == 410
    assert "This link has already been used" in text_of(refused)
    assert other.get("/journey/delegated").status_code == 403


def test_an_expired_link_is_refused(app: Flask, connecting: FlaskClient) -> None:
    link = _delegate(connecting)
    with app.app_context():
        db.session.execute(update(Delegation).values(expires_at=clock.now() - timedelta(1)))
        db.session.commit()
    refused = app.test_client().get(link)
    assert refused.status_code == 410
    assert "This link has expired" in text_of(refused)


def test_an_unknown_link_is_refused(client: FlaskClient) -> None:
    refused = client.get("/journey/delegated/not-a-real-token")
    assert refused.status_code == 404
    assert "This link isn't valid" in text_of(refused)


def test_the_customer_revokes_even_an_opened_link(
    app: Flask, connecting: FlaskClient, live_sandbox: LiveSandbox
) -> None:
    link = _delegate(connecting)
    accountant = app.test_client()
    accountant.get(link)
    start = accountant.post("/journey/delegated", data={"submit": "Continue"})
    with app.app_context():
        public_id = db.session.scalars(select(Delegation.public_id)).one()
    cancelled = connecting.post("/journey/delegate/cancel", data={"delegation": public_id})
    assert cancelled.status_code == 303
    assert "Waiting for Jane" not in text_of(connecting.get("/journey/connect"))
    # The sign-in already under way links nothing.
    callback = _adviser_approves(live_sandbox, str(start.location))
    back = accountant.get(callback.removeprefix("http://localhost"))
    assert back.status_code == 410
    assert "This link has been cancelled" in text_of(back)
    assert accountant.get("/journey/delegated").status_code == 410
    assert app.test_client().get(link).status_code == 410
    with app.app_context():
        assert (
            db.session.scalars(select(Connection).where(Connection.status == "linked")).all() == []
        )
        revoked = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "delegation.revoked")
        ).one()
        assert revoked.actor_type == "customer"
    assert _event(app, "delegation.revoked")["revoked_by"] == "customer"


def test_a_customer_cannot_revoke_another_customers_delegation(
    app: Flask, connecting: FlaskClient
) -> None:
    _delegate(connecting)
    with app.app_context():
        public_id = db.session.scalars(select(Delegation.public_id)).one()
    stranger = app.test_client()
    with app.app_context():
        other = create_customer("Other Ltd", "other@example.com")
        path = journey_link(other.public_id, "default").removeprefix("http://localhost")
    stranger.get(path)
    refused = stranger.post("/journey/delegate/cancel", data={"delegation": public_id})
    assert refused.status_code == 404
    with app.app_context():
        assert db.session.scalars(select(Delegation.revoked_at)).one() is None


def test_a_colleague_revokes_from_the_console(app: Flask, connecting: FlaskClient) -> None:
    link = _delegate(connecting)
    with app.app_context():
        customer = db.session.scalars(select(Customer)).one()
        public_id = db.session.scalars(select(Delegation.public_id)).one()
    viewer = signed_in_as(app, "viewer")
    page = text_of(viewer.get(f"/admin/customers/{customer.public_id}"))
    assert "Asked their accountant (Jane Smith) to connect" in page
    refused = viewer.post(f"/admin/customers/{customer.public_id}/delegations/{public_id}/revoke")
    assert refused.status_code == 403
    support = signed_in_as(app, "support")
    done = support.post(f"/admin/customers/{customer.public_id}/delegations/{public_id}/revoke")
    assert done.status_code == 303
    assert app.test_client().get(link).status_code == 410
    with app.app_context():
        entry = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "delegation.revoked")
        ).one()
        assert entry.actor_type == "user"
    assert _event(app, "delegation.revoked")["revoked_by"] == "user"


def test_the_customers_page_lists_it_and_revokes_it(app: Flask, connecting: FlaskClient) -> None:
    link = _delegate(connecting)
    page = text_of(connecting.get("/my"))
    assert "Jane Smith (your accountant)" in page
    assert "Waiting for them to connect" in page
    with app.app_context():
        public_id = db.session.scalars(select(Delegation.public_id)).one()
    cancelled = connecting.post(f"/my/delegations/{public_id}/revoke")
    assert cancelled.status_code == 303
    assert "Cancelled" in text_of(connecting.get("/my"))
    assert app.test_client().get(link).status_code == 410


def test_the_api_names_who_authorised(
    app: Flask, connecting: FlaskClient, live_sandbox: LiveSandbox
) -> None:
    from tests.integration.api_helpers import create_key

    link = _delegate(connecting)
    _accountant_connects(app, link, live_sandbox)
    key = create_key(app, "read")
    listed = app.test_client().get(
        "/api/v1/connections", headers={"Authorization": f"Bearer {key}"}
    )
    assert listed.status_code == 200, listed.get_data(as_text=True)
    [connection] = listed.get_json()["data"]
    assert connection["authorised_by"] == {"role": "accountant"}


def test_the_accountant_chooses_among_several_organisations(
    app: Flask, connecting: FlaskClient, live_sandbox: LiveSandbox
) -> None:
    app.config["PLATFORM_OVERRIDES"] = LIST_ORGANISATIONS
    link = _delegate(connecting)
    accountant, ended = _accountant_connects(app, link, live_sandbox)
    assert ended == "/journey/delegated/organisation"
    page = text_of(accountant.get(ended))
    assert "Choose Acme Ltd's, the one Northwind Lending should read." in page
    for organisation in ADVISER_USER.organisations:
        assert organisation.name in page
    # The customer's own chooser is not the accountant's: they hold no run.
    assert accountant.get("/journey/organisation").status_code == 403
    missing = accountant.post(ended, data={})
    assert missing.status_code == 422
    assert "Choose the organisation to connect" in text_of(missing)
    chosen = accountant.post(ended, data={"organisation": ADVISER_USER.organisations[2].id})
    assert chosen.location == "/journey/delegated/done"
    with app.app_context():
        connection = db.session.scalars(select(Connection)).one()
        assert (connection.status, connection.org_name) == (
            "linked",
            ADVISER_USER.organisations[2].name,
        )
        assert connection.authorised_by_role == "accountant"


def test_a_refusal_at_the_platform_lets_the_accountant_try_again(
    app: Flask, connecting: FlaskClient, live_sandbox: LiveSandbox
) -> None:
    link = _delegate(connecting)
    accountant = app.test_client()
    accountant.get(link)
    start = accountant.post("/journey/delegated", data={"submit": "Continue"})
    back = accountant.get(
        live_sandbox.authorize(str(start.location), "deny").removeprefix("http://localhost")
    )
    assert back.location == "/journey/delegated"
    page = text_of(accountant.get("/journey/delegated"))
    assert "Try again" in page
    # The customer is still waiting for them.
    assert "Waiting for Jane Smith to connect" in text_of(connecting.get("/journey/connect"))


def test_erasing_the_customer_stops_their_links(app: Flask, connecting: FlaskClient) -> None:
    link = _delegate(connecting)
    with app.app_context():
        customer = db.session.scalars(select(Customer)).one()
        erase_customer(customer, "test")
        db.session.commit()
    assert app.test_client().get(link).status_code == 410


def test_with_mail_the_customer_is_told_when_it_is_done(
    app: Flask, connecting: FlaskClient, live_sandbox: LiveSandbox
) -> None:
    with smtp_sink() as (sink, settings):
        app.config.update(settings)
        link = _delegate(connecting)
        _accountant_connects(app, link, live_sandbox)
        with app.app_context():
            mail.send_due()
    told = [m for m in sink.to("owner@acme.example") if "Jane Smith connected" in m["Subject"]]
    assert [m["Subject"] for m in told] == [
        "Jane Smith connected your accounting software for Northwind Lending"
    ]


def test_nothing_to_do_once_the_customer_connected_themselves(
    app: Flask, connecting: FlaskClient, live_sandbox: LiveSandbox
) -> None:
    link = _delegate(connecting)
    accountant = app.test_client()
    accountant.get(link)
    start = connecting.post("/journey/connect")
    connecting.get(
        live_sandbox.authorize(str(start.location), "approve").removeprefix("http://localhost")
    )
    # The link they gave out stopped by itself: the person asked is told there's nothing
    # left to do, in the browser that opened it and in any other that opens the link.
    refused = accountant.post("/journey/delegated", data={"submit": "Continue"})
    assert refused.status_code == 410
    assert "There's nothing left to do" in text_of(refused)
    reopened = app.test_client().get(link)
    assert reopened.status_code == 410
    assert "has connected it themselves" in text_of(reopened)
    # The customer's page says so, and the business is told why the link stopped.
    assert "Not needed: you connected yourself" in text_of(connecting.get("/my"))
    assert _event(app, "delegation.revoked")["revoked_by"] == "not_needed"
    with app.app_context():
        assert len(db.session.scalars(select(Connection)).all()) == 1


@pytest.mark.parametrize(
    ("locale", "offer", "waiting"),
    [
        ("fr", "Demander à mon comptable de le faire", "En attente de la connexion par Jane Smith"),
        ("de", "Meine Steuerberatung darum bitten", "Warten auf die Verbindung durch Jane Smith"),
    ],
)
def test_it_speaks_the_customers_language(
    app: Flask, client: FlaskClient, locale: str, offer: str, waiting: str
) -> None:
    with app.app_context():
        customer = create_customer("Acme Ltd", "owner@acme.example")
        path = journey_link(customer.public_id, "default", locale).removeprefix("http://localhost")
    client.get(path)
    client.post("/journey/welcome")
    client.post("/journey/consent", data=REQUIRED_CONSENTS)
    client.post("/journey/software", data={"platform": "sandbox"})
    assert offer in text_of(client.get("/journey/connect"))
    link = _delegate(client)
    assert waiting in text_of(client.get("/journey/connect"))
    accountant = app.test_client()
    accountant.get(link)
    page = text_of(accountant.get("/journey/delegated"))
    assert f'<html lang="{locale}"' in page
    assert "Acme Ltd" in page and "Northwind Lending" in page

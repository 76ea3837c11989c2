"""The customer's own page, "Your connections and consents": what they granted, to whom,
when and until when, each connection; withdrawing, keeping and disconnecting with plain
links and form posts; signed manage links and fresh ones by email."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from babel.dates import format_date
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app import clock, create_app, mail
from app.consent import ledger
from app.consent.account_links import manage_url
from app.customers.records import create_customer
from app.extensions import db
from app.links import journey_link
from app.models import AuditEntry, Connection, ConsentRecord, Customer, JourneyRun, OutboxEvent
from app.sandbox.data import ORGANISATIONS
from tests.conftest import reset_database, test_settings
from tests.consent_records import chained
from tests.integration.api_helpers import Api, create_key
from tests.integration.conftest import ALL_CONSENTS, REQUIRED_CONSENTS, LiveSandbox
from tests.mail_sink import Sink, smtp_sink
from tests.pages import text_of

FINANCIAL_STATEMENTS = "Profit and loss, balance sheet and cash flow"
ONGOING_MONITORING = "Monthly updates of the same records while your loan is open"
FRESH_LINK_ANSWER = "If we know that address, we've sent a link to it."


def _journey(client: FlaskClient, live_sandbox: LiveSandbox, consents: dict[str, str]) -> None:
    """Consent, choose the Sandbox, and link its first organisation."""
    client.post("/journey/welcome")
    client.post("/journey/consent", data=consents)
    client.post("/journey/software", data={"platform": "sandbox"})
    start = client.post("/journey/connect")
    callback = live_sandbox.authorize(str(start.location), "approve")
    client.get(callback.removeprefix("http://localhost"))


@pytest.fixture
def linked(app: Flask, customer_client: FlaskClient, live_sandbox: LiveSandbox) -> FlaskClient:
    """A customer who granted what is required (not the optional item) and connected."""
    app.config["SANDBOX_URL"] = live_sandbox.url
    _journey(customer_client, live_sandbox, REQUIRED_CONSENTS)
    return customer_client


@pytest.fixture
def linked_with_all(
    app: Flask, customer_client: FlaskClient, live_sandbox: LiveSandbox
) -> FlaskClient:
    """A customer who granted every item, the optional one too, and connected."""
    app.config["SANDBOX_URL"] = live_sandbox.url
    _journey(customer_client, live_sandbox, ALL_CONSENTS)
    return customer_client


def _latest(app: Flask) -> dict[str, ConsentRecord]:
    with app.app_context():
        run = db.session.scalars(select(JourneyRun)).one()
        return ledger.latest_decisions(run)


def _connections(app: Flask) -> list[Connection]:
    with app.app_context():
        return list(db.session.scalars(select(Connection).where(Connection.linked_at.is_not(None))))


def _events(app: Flask, event_type: str) -> list[OutboxEvent]:
    with app.app_context():
        return list(db.session.scalars(select(OutboxEvent).where(OutboxEvent.type == event_type)))


def _long(moment: datetime) -> str:
    return format_date(moment, "long", locale="en")


def _click(client: FlaskClient, page: str, name: str) -> str:
    """The address of the link named ``name`` (its visible words, then hidden ones)."""
    match = re.search(rf'<a [^>]*href="([^"]+)"[^>]*>{re.escape(name)}<', page)
    assert match is not None, f"no link {name!r}"
    return match.group(1)


def _withdraw_link(page: str, category: str) -> str:
    match = re.search(
        rf'href="([^"]+/withdraw)">Withdraw<span class="visually-hidden"> {re.escape(category)}<',
        page,
    )
    assert match is not None, f"no Withdraw button for {category!r}"
    return match.group(1)


def test_the_page_shows_what_was_granted_to_whom_when_until_when_and_each_connection(
    app: Flask, linked: FlaskClient
) -> None:
    page = linked.get("/my")

    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    text = text_of(page)
    assert "Your connections and consents" in text
    latest = _latest(app)
    grant = latest["financial_statements"]
    assert grant.expires_at is not None
    assert FINANCIAL_STATEMENTS in text
    assert grant.purpose in text
    assert "Northwind Lending" in text
    assert f"Given on</dt><dd>{_long(grant.recorded_at)}" in text
    assert f"Until</dt><dd>{_long(grant.expires_at)}" in text
    # The optional item the customer left unticked is shown as declined, not as shared.
    assert re.search(rf"{ONGOING_MONITORING}\s*<span class=\"tag tag--muted\">Declined", text)
    [connection] = _connections(app)
    assert "Sandbox Accounting" in text
    assert connection.org_name == ORGANISATIONS[1].name
    assert f"Organisation</dt><dd>{connection.org_name}" in text
    assert f"Connected since</dt><dd>{_long(connection.linked_at)}" in text  # type: ignore[arg-type]
    assert "Status</dt><dd>Connected" in text
    # A grant without an end date says so.
    assert "Until you withdraw it" not in text


def test_a_grant_without_an_expiry_lasts_until_withdrawn(app: Flask, linked: FlaskClient) -> None:
    with app.app_context():
        run = db.session.scalars(select(JourneyRun)).one()
        chained(
            customer_id=run.customer_id,
            run_id=run.id,
            journey_id=run.journey_id,
            journey_version=run.journey_version,
            item_key="forever",
            text="Forever",
            text_sha256="0" * 64,
            decision="granted",
            locale="en",
            data_categories=["Everything, for ever"],
        )
        db.session.commit()

    assert "Until</dt><dd>Until you withdraw it" in text_of(linked.get("/my"))


def test_withdrawing_a_required_consent_takes_two_clicks_and_disconnects(
    app: Flask, linked: FlaskClient
) -> None:
    overview = text_of(linked.get("/my"))

    # Click 1: the Withdraw button leads to what it means.
    confirmation = linked.get(_withdraw_link(overview, FINANCIAL_STATEMENTS))
    assert confirmation.status_code == 200
    confirming = text_of(confirmation)
    assert "Withdraw your consent?" in confirming
    assert "Your connection to Sandbox Accounting will be disconnected" in confirming
    action = re.search(r'<form method="post" action="([^"]+)"', confirming)
    assert action is not None
    # Nothing has changed yet.
    assert _latest(app)["financial_statements"].decision == "granted"

    # Click 2: "Withdraw consent", a plain form post.
    done = linked.post(action.group(1), data={"submit": "Withdraw consent"})

    assert done.status_code == 303
    assert done.location.endswith("/my")
    withdrawn = _latest(app)["financial_statements"]
    assert withdrawn.decision == "withdrawn"
    assert withdrawn.collection_method == ledger.BY_CUSTOMER_PAGE
    assert withdrawn.actor_type == "customer"
    [event] = _events(app, "consent.withdrawn")
    assert event.data["consent_id"] == withdrawn.public_id
    assert [c.status for c in _connections(app)] == ["disconnected"]
    assert len(_events(app, "connection.disconnected")) == 1
    # The other required item stays granted: only what was withdrawn changes.
    assert _latest(app)["invoices_bills"].decision == "granted"
    with app.app_context():
        actions = db.session.scalars(select(AuditEntry.action)).all()
        customer = db.session.scalars(select(Customer)).one()
        actors = set(db.session.scalars(select(AuditEntry.actor_id)))
    assert sorted(actions) == ["connection.disconnect", "consent.withdraw"]
    assert actors == {customer.public_id}

    after = linked.get("/my")
    text = text_of(after)
    status = re.search(r'<div role="status">(.*?)</div>\s*</div>', text, re.S)
    assert status is not None
    assert f"You withdrew your consent: {FINANCIAL_STATEMENTS}." in status.group(1)
    assert "Your Sandbox Accounting connection was disconnected." in status.group(1)
    assert f"You withdrew it on {_long(withdrawn.recorded_at)}" in text
    assert "Status</dt><dd>Disconnected" in text
    # Shown once: the next visit has nothing to announce.
    assert "You withdrew your consent" not in text_of(linked.get("/my"))


def test_withdrawing_an_optional_consent_leaves_the_connections_alone(
    app: Flask, linked_with_all: FlaskClient
) -> None:
    overview = text_of(linked_with_all.get("/my"))
    address = _withdraw_link(overview, ONGOING_MONITORING)
    confirming = text_of(linked_with_all.get(address))
    assert "your connections stay as they are" in confirming
    assert "will be disconnected" not in confirming

    linked_with_all.post(address, data={"submit": "Withdraw consent"})

    assert _latest(app)["ongoing_monitoring"].decision == "withdrawn"
    assert len(_events(app, "consent.withdrawn")) == 1
    assert [c.status for c in _connections(app)] == ["linked"]


def test_withdrawing_twice_changes_nothing_more(app: Flask, linked: FlaskClient) -> None:
    address = _withdraw_link(text_of(linked.get("/my")), FINANCIAL_STATEMENTS)
    linked.post(address, data={"submit": "Withdraw consent"})
    linked.get("/my")

    again = linked.post(address, data={"submit": "Withdraw consent"})

    assert again.status_code == 303
    assert len(_events(app, "consent.withdrawn")) == 1
    assert "is no longer active" in text_of(linked.get("/my"))


def test_keep_sharing_extends_the_consent_in_one_click(app: Flask, linked: FlaskClient) -> None:
    # A grant given 80 days ago, 10 days before it ends (as the reminder email says).
    with app.app_context():
        run = db.session.scalars(select(JourneyRun)).one()
        earlier = clock.now() - timedelta(days=80)
        old = chained(
            customer_id=run.customer_id,
            run_id=run.id,
            journey_id=run.journey_id,
            journey_version=run.journey_version,
            item_key="old_item",
            text="Old",
            text_sha256="1" * 64,
            decision="granted",
            locale="en",
            recorded_at=earlier,
            expires_at=earlier + timedelta(days=90),
            data_categories=["Old accounts"],
        )
        db.session.commit()
        old_id, old_expiry = old.public_id, old.expires_at
        assert old_expiry is not None

    # The reminder's link opens the page on that consent.
    page = text_of(linked.get(f"/my?reconfirm={old_id}"))
    assert "Keep sharing?" in page
    assert f"Your consent ends on {_long(old_expiry)}" in page
    action = re.search(rf'action="(/my/consents/{old_id}/reconfirm)"', page)
    assert action is not None

    done = linked.post(action.group(1), data={"submit": "1"})

    assert done.status_code == 303
    renewed = _latest(app)["old_item"]
    assert renewed.decision == "reconfirmed"
    assert renewed.expires_at is not None
    assert renewed.expires_at - old_expiry > timedelta(days=79)
    assert len(_events(app, "consent.reconfirmed")) == 1
    text = text_of(linked.get("/my"))
    assert f"You're still sharing: Old accounts, until {_long(renewed.expires_at)}." in text
    assert "Granted (renewed)" in text


def test_disconnecting_takes_two_clicks_and_keeps_the_consents(
    app: Flask, linked: FlaskClient
) -> None:
    overview = text_of(linked.get("/my"))
    match = re.search(r'href="([^"]+/disconnect)">Disconnect<', overview)
    assert match is not None
    confirming = text_of(linked.get(match.group(1)))
    assert "Disconnect Sandbox Accounting?" in confirming
    assert [c.status for c in _connections(app)] == ["linked"]

    done = linked.post(match.group(1), data={"submit": "Disconnect"})

    assert done.status_code == 303
    assert [c.status for c in _connections(app)] == ["disconnected"]
    assert _latest(app)["financial_statements"].decision == "granted"
    assert "Sandbox Accounting is disconnected." in text_of(linked.get("/my"))
    # Nothing left to disconnect: the button is gone.
    assert "/disconnect" not in text_of(linked.get("/my"))


def test_another_customers_consents_and_connections_are_not_found(
    app: Flask, linked: FlaskClient
) -> None:
    record = _latest(app)["financial_statements"]
    [connection] = _connections(app)
    with app.app_context():
        other = create_customer("Other Ltd", "other@example.com")
        link = manage_url(other).removeprefix("http://localhost")
    intruder = app.test_client()
    assert intruder.get(link).status_code == 303

    attempts = [
        intruder.get(f"/my/consents/{record.public_id}/withdraw"),
        intruder.post(f"/my/consents/{record.public_id}/withdraw", data={"submit": "x"}),
        intruder.post(f"/my/consents/{record.public_id}/reconfirm", data={"submit": "1"}),
        intruder.get(f"/my/connections/{connection.public_id}/disconnect"),
        intruder.post(f"/my/connections/{connection.public_id}/disconnect", data={"submit": "x"}),
    ]

    assert [a.status_code for a in attempts] == [404] * 5
    assert "Page not found" in text_of(attempts[0])
    assert _latest(app)["financial_statements"].decision == "granted"
    assert [c.status for c in _connections(app)] == ["linked"]
    # Their own page shows none of it.
    page = text_of(intruder.get("/my"))
    assert "You haven't shared anything yet." in page
    assert FINANCIAL_STATEMENTS not in page


@pytest.fixture
def mail_configured(app: Flask) -> None:
    """A mail server is configured (these tests never run the worker that would use it)."""
    app.config["SMTP_HOST"] = "smtp.invalid"


@pytest.mark.usefixtures("mail_configured")
def test_a_browser_without_a_link_is_asked_to_open_one(client: FlaskClient) -> None:
    response = client.get("/my")

    assert response.status_code == 403
    text = text_of(response)
    assert "Open your link to see this page" in text
    assert 'href="/my/link"' in text


def test_the_manage_link_opens_the_page_and_keeps_the_reconfirm_request(
    app: Flask, client: FlaskClient
) -> None:
    with app.app_context():
        customer = create_customer("Acme Ltd", "owner@acme.example")
        link = manage_url(customer, reconfirm="some-record").removeprefix("http://localhost")

    opened = client.get(link)

    assert opened.status_code == 303
    assert opened.location == "/my?reconfirm=some-record"
    page = client.get(opened.location)
    assert page.status_code == 200
    # A reconfirm id that names nothing of theirs is simply not highlighted.
    assert "Keep sharing?" not in text_of(page)


@pytest.mark.usefixtures("mail_configured")
@pytest.mark.parametrize(
    ("change", "status", "title"),
    [
        (lambda token: token[:-3] + "abc", 400, "This link isn't valid"),
        (lambda token: token.replace(".", ".x", 1), 400, "This link isn't valid"),
        (lambda token: "nonsense", 400, "This link isn't valid"),
    ],
)
def test_a_tampered_manage_link_gets_a_friendly_page(
    app: Flask, client: FlaskClient, change: object, status: int, title: str
) -> None:
    with app.app_context():
        customer = create_customer("Acme Ltd", "owner@acme.example")
        token = manage_url(customer).rsplit("/", 1)[1]

    response = client.get(f"/my/{change(token)}")  # type: ignore[operator]

    assert response.status_code == status
    text = text_of(response)
    assert title in text
    assert "Email me a fresh link" in text
    # Nothing opened: the page itself still asks for a link.
    assert client.get("/my").status_code == 403


@pytest.mark.usefixtures("mail_configured")
def test_an_expired_manage_link_offers_a_fresh_one(
    client: FlaskClient, expired_manage_link: str
) -> None:
    response = client.get(expired_manage_link)

    assert response.status_code == 410
    text = text_of(response)
    assert "This link has expired" in text
    assert '<label for="email"' in text
    assert client.get("/my").status_code == 403


@pytest.fixture
def mail_app(tmp_path: Path) -> Iterator[tuple[Flask, Sink]]:
    with smtp_sink() as (sink, settings):
        app = create_app(test_settings(tmp_path, **settings))
        reset_database(app)
        yield app, sink
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_a_fresh_link_arrives_by_email_and_opens_the_page(
    mail_app: tuple[Flask, Sink],
) -> None:
    app, sink = mail_app
    with app.app_context():
        create_customer("Acme Ltd", "owner@acme.example")
    browser = app.test_client()
    assert browser.get("/my/link").status_code == 200

    sent = browser.post("/my/link", data={"email": " Owner@Acme.example "})

    assert sent.status_code == 303
    assert FRESH_LINK_ANSWER in text_of(browser.get(sent.location))
    with app.app_context():
        assert mail.send_due() == 1
    [message] = sink.to("owner@acme.example")
    body = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    link = re.search(r"http://localhost(/my/\S+)", body)
    assert link is not None
    fresh = app.test_client()
    assert fresh.get(link.group(1)).status_code == 303
    assert fresh.get("/my").status_code == 200


def test_a_fresh_link_reveals_nothing_about_an_unknown_address(
    mail_app: tuple[Flask, Sink],
) -> None:
    app, sink = mail_app
    with app.app_context():
        create_customer("Acme Ltd", "owner@acme.example")
    browser = app.test_client()

    known = browser.post("/my/link", data={"email": "owner@acme.example"})
    unknown = browser.post("/my/link", data={"email": "nobody@acme.example"})

    assert (known.status_code, known.location) == (unknown.status_code, unknown.location)
    with app.app_context():
        mail.send_due()
    assert [m["To"] for m in sink.messages] == ["owner@acme.example"]


@pytest.mark.usefixtures("mail_configured")
def test_a_fresh_link_needs_a_real_email_address(client: FlaskClient) -> None:
    response = client.post("/my/link", data={"email": "not an address"})

    assert response.status_code == 422
    assert "Enter an email address like name@example.com" in text_of(response)


@pytest.mark.usefixtures("mail_configured")
def test_asking_for_fresh_links_is_rate_limited(client: FlaskClient) -> None:
    for _ in range(5):
        assert client.post("/my/link", data={"email": "someone@example.com"}).status_code == 303

    blocked = client.post("/my/link", data={"email": "someone@example.com"})

    assert blocked.status_code == 429
    assert "Too many attempts" in text_of(blocked)


@pytest.mark.parametrize("locale", ["en", "fr", "de"])
def test_every_shipped_language_renders_the_page(
    app: Flask, linked: FlaskClient, locale: str
) -> None:
    page = linked.get(f"/my?lang={locale}")

    assert page.status_code == 200
    assert f'<html lang="{locale}">' in page.text
    record = _latest(app)["financial_statements"]
    confirm = linked.get(f"/my/consents/{record.public_id}/withdraw")
    assert confirm.status_code == 200
    # The choice is kept for the next pages.
    assert f'<html lang="{locale}">' in confirm.text


def test_the_page_takes_the_journeys_language(app: Flask) -> None:
    with app.app_context():
        customer = create_customer("Acme Ltd", "owner@acme.example")
        link = journey_link(customer.public_id, "default", "de").removeprefix("http://localhost")
    browser = app.test_client()
    browser.get(link)

    assert '<html lang="de">' in browser.get("/my").text


def test_the_journey_links_to_the_customer_page(linked: FlaskClient) -> None:
    done = text_of(linked.get("/journey/done"))

    assert done.count('href="/my"') == 2  # on the done page, and in the footer


def test_the_page_works_with_plain_forms_and_no_scripts(app: Flask, linked: FlaskClient) -> None:
    text = linked.get("/my").text
    record = _latest(app)["financial_statements"]
    confirm = linked.get(f"/my/consents/{record.public_id}/withdraw").text

    for html in (text, confirm):
        assert "<script" not in html
        assert "hx-" not in html.split("<body", 1)[1].split(">", 1)[1]
    assert 'method="post"' in confirm


def test_forms_without_a_csrf_token_are_refused(tmp_path: Path) -> None:
    app = create_app(test_settings(tmp_path, WTF_CSRF_ENABLED=True))
    reset_database(app)
    with app.app_context():
        customer = create_customer("Acme Ltd", "owner@acme.example")
        run = JourneyRun(
            customer_id=customer.id,
            journey_id="default",
            journey_version="v",
            current_step="done",
        )
        db.session.add(run)
        db.session.flush()
        record = chained(
            customer_id=customer.id,
            run_id=run.id,
            journey_id="default",
            journey_version="v",
            item_key="item",
            text="Item",
            text_sha256="2" * 64,
            decision="granted",
            locale="en",
        )
        db.session.commit()
        link = manage_url(customer).removeprefix("http://localhost")
        record_id = record.public_id
    browser = app.test_client()
    browser.get(link)
    confirm = browser.get(f"/my/consents/{record_id}/withdraw")
    assert 'name="csrf_token"' in confirm.text

    refused = [
        browser.post(f"/my/consents/{record_id}/withdraw", data={"submit": "Withdraw consent"}),
        browser.post("/my/link", data={"email": "owner@acme.example"}),
    ]

    assert [r.status_code for r in refused] == [400, 400]
    assert "This form has expired" in text_of(refused[0])
    with app.app_context():
        assert db.session.scalars(select(ConsentRecord.decision)).all() == ["granted"]
        db.session.remove()
        db.engine.dispose()


def test_the_api_withdrawing_a_required_consent_disconnects_too(
    app: Flask, linked: FlaskClient
) -> None:
    backend = Api(app.test_client(), create_key(app, "read", "write"))
    record = _latest(app)["financial_statements"]

    withdrawn = backend.post(f"/api/v1/consents/{record.public_id}/withdraw")

    assert withdrawn.status_code == 200
    assert withdrawn.get_json()["decision"] == "withdrawn"
    assert [c.status for c in _connections(app)] == ["disconnected"]
    latest = _latest(app)["financial_statements"]
    assert (latest.actor_type, latest.collection_method) == ("api_key", ledger.BY_API)
    with app.app_context():
        entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [(e.actor_type, e.action) for e in entries][-2:] == [
        ("api_key", "consent.withdraw"),
        ("api_key", "connection.disconnect"),
    ]
    # The customer's page shows what the business did.
    page = text_of(linked.get("/my"))
    assert "Status</dt><dd>Disconnected" in page
    assert f"You withdrew it on {_long(latest.recorded_at)}" in page

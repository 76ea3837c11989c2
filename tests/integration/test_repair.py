"""Repairing a broken connection keeps its id; connecting an organisation twice leaves one
connection. Against the live Sandbox over HTTP."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from app import clock, mail
from app.admin.timeline import timeline
from app.connections import authorization, repair
from app.customers.records import create_customer
from app.extensions import db
from app.links import journey_link, read_token
from app.models import AuditEntry, Connection, Customer, JourneyRun, MailMessage, OutboxEvent
from app.sandbox.data import ORGANISATIONS
from app.vault import decrypt_json
from tests.conftest import Clock
from tests.integration.conftest import LiveSandbox
from tests.mail_sink import smtp_sink
from tests.pages import text_of


@pytest.fixture
def linked(linked_sandbox: Connection) -> str:
    """The public id of a customer's linked Sandbox connection."""
    return linked_sandbox.public_id


def _break(app: Flask, reason: str = "revoked_at_provider") -> None:
    with app.app_context():
        db.session.execute(
            update(Connection).values(
                status="deauthorized",
                token_ciphertext=None,
                last_error=reason,
                ended_at=clock.now(),
            )
        )
        db.session.commit()


def _connections(app: Flask) -> list[Connection]:
    with app.app_context():
        rows = list(db.session.scalars(select(Connection).order_by(Connection.id)))
        for row in rows:
            db.session.expunge(row)
        return rows


def _repair_path(app: Flask, public_id: str) -> str:
    with app.app_context():
        connection = db.session.scalars(
            select(Connection).where(Connection.public_id == public_id)
        ).one()
        link = repair.repair_link(connection)
        assert link.expires_at > clock.now()
    return link.url.removeprefix("http://localhost")


def test_a_repair_link_goes_straight_to_the_sign_in_and_relinks_the_same_connection(
    app: Flask, linked: str, live_sandbox: LiveSandbox
) -> None:
    _break(app)
    before = _connections(app)[0]
    browser = app.test_client()

    opened = browser.get(_repair_path(app, linked))
    # One click: the repair link leads to the platform's sign-in, not to a welcome page.
    assert opened.status_code == 303
    assert opened.location.startswith(live_sandbox.url)
    callback = live_sandbox.authorize(opened.location, "approve")
    done = browser.get(callback.removeprefix("http://localhost"), follow_redirects=True)
    assert "You're reconnected" in text_of(done)

    [after] = _connections(app)
    assert (after.public_id, after.status, after.last_error) == (linked, "linked", None)
    assert after.repaired_at is not None and after.ended_at is None
    assert after.token_version == before.token_version + 1
    with app.app_context():
        assert decrypt_json(after.token_ciphertext or "")["access_token"]
        linked_events = db.session.scalars(
            select(OutboxEvent).where(OutboxEvent.type == "connection.linked")
        ).all()
        assert [e.data["connection_id"] for e in linked_events] == [linked, linked]
        assert linked_events[-1].data["repaired"] is True
        entry = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "connection.repaired")
        ).one()
        assert (entry.subject_id, entry.after) == (
            linked,
            {"status": "linked", "outcome": "repaired"},
        )
        # The repair asked no consent again: the connection stays with the run that has it.
        run = db.session.get(JourneyRun, after.run_id)
        assert run is not None and run.journey_id == "default"


def test_a_repair_link_refuses_another_organisation_and_leaves_the_connection_broken(
    app: Flask, linked: str, live_sandbox: LiveSandbox
) -> None:
    _break(app)
    browser = app.test_client()
    opened = browser.get(_repair_path(app, linked))
    other = live_sandbox.authorize(opened.location, organisation=2)
    page = text_of(browser.get(other.removeprefix("http://localhost"), follow_redirects=True))
    assert "That's a different organisation" in page, page[page.find("<main") :]
    kept, attempt = _connections(app)
    assert (kept.public_id, kept.status) == (linked, "deauthorized")
    assert (attempt.status, attempt.last_error, attempt.token_ciphertext) == (
        "failed",
        "different_organisation",
        None,
    )


def test_a_repair_the_customer_abandons_or_that_fails_is_on_the_connections_timeline(
    app: Flask, linked: str, live_sandbox: LiveSandbox, clock: Clock
) -> None:
    _break(app)
    browser = app.test_client()
    opened = browser.get(_repair_path(app, linked))
    assert opened.location.startswith(live_sandbox.url)
    # The customer never comes back from the platform: the worker's sweep ends the attempt.
    clock.advance(
        timedelta(
            seconds=app.config["OAUTH_FLOW_TTL_SECONDS"]
            + app.config["CONNECTION_FINISH_SECONDS"]
            + 1
        )
    )
    with app.app_context():
        assert authorization.fail_stuck_connections() == 1
    # Another try brings back the wrong organisation.
    opened = browser.get(_repair_path(app, linked))
    other = live_sandbox.authorize(opened.location, organisation=2)
    browser.get(other.removeprefix("http://localhost"))

    assert _connections(app)[0].status == "deauthorized"
    noted = [t for t in _timeline_texts(app) if t.startswith("connection.repair_failed")]
    assert [t.split(") ", 1)[1] for t in noted] == [
        "outcome: failed; reason: different_organisation",
        "outcome: abandoned; reason: abandoned",
    ]


def test_a_replayed_repair_callback_finds_the_connection_linked(
    app: Flask, linked: str, live_sandbox: LiveSandbox
) -> None:
    _break(app)
    browser = app.test_client()
    opened = browser.get(_repair_path(app, linked))
    callback = live_sandbox.authorize(opened.location, "approve").removeprefix("http://localhost")
    browser.get(callback)
    again = browser.get(callback, follow_redirects=True)
    assert again.status_code == 200
    assert [(c.public_id, c.status) for c in _connections(app)] == [(linked, "linked")]


def test_a_broken_link_or_one_naming_no_connection_changes_nothing(app: Flask, linked: str) -> None:
    browser = app.test_client()
    path = _repair_path(app, linked)
    assert browser.get(path[:-4] + "AAAA").status_code == 400
    with app.app_context():
        connection = db.session.scalars(select(Connection)).one()
        connection.org_id = None
        db.session.commit()
        with pytest.raises(repair.NotRepairable):
            repair.repair_link(connection)
    assert [c.status for c in _connections(app)] == ["linked"]


def _connect_again(app: Flask, live_sandbox: LiveSandbox, organisation: int = 1) -> None:
    """The same customer signs in to the Sandbox again in their run (as the callback view
    does for the browser that started it)."""
    with app.app_context():
        run = db.session.scalars(select(JourneyRun)).one()
        started = authorization.begin_connection(run, "sandbox")
        run_id = run.id
    callback = live_sandbox.authorize(started.url, "approve", organisation=organisation)
    params = dict(parse_qsl(urlsplit(callback).query))
    with app.app_context():
        result = authorization.finish_callback("sandbox", params, run_id, None)
        assert result.linked


def test_connecting_the_same_organisation_twice_leaves_one_connection(
    app: Flask, linked: str, live_sandbox: LiveSandbox
) -> None:
    _connect_again(app, live_sandbox)
    [only] = _connections(app)
    assert (only.public_id, only.status) == (linked, "linked")
    with app.app_context():
        events = db.session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.type.like("connection.%"))
            .order_by(OutboxEvent.id)
        ).all()
        # No event names the second attempt: the business hears of one connection.
        assert [(e.type, e.data["connection_id"]) for e in events] == [
            ("connection.linked", linked),
            ("connection.linked", linked),
        ]


def test_a_deauthorized_connection_is_reauthorized_by_connecting_its_organisation_again(
    app: Flask, linked: str, live_sandbox: LiveSandbox
) -> None:
    _break(app, "refresh_refused")
    _connect_again(app, live_sandbox)
    [only] = _connections(app)
    assert (only.public_id, only.status, only.last_error) == (linked, "linked", None)


def test_another_organisation_or_a_disconnected_one_is_a_new_connection(
    app: Flask, linked: str, live_sandbox: LiveSandbox
) -> None:
    _connect_again(app, live_sandbox, organisation=2)
    assert len({c.public_id for c in _connections(app)}) == 2
    with app.app_context():
        db.session.execute(update(Connection).values(status="disconnected"))
        db.session.commit()
    _connect_again(app, live_sandbox, organisation=1)
    statuses = [c.status for c in _connections(app)]
    assert statuses == ["disconnected", "disconnected", "linked"]


def test_expiring_and_deauthorized_connections_need_their_customer(app: Flask, linked: str) -> None:
    with app.app_context():
        connection = db.session.scalars(select(Connection)).one()
        assert repair.needs_repair(connection) is None
        connection.linked_at = clock.now() - timedelta(days=50)
        connection.refresh_expires_at = clock.now() + timedelta(days=3)
        assert repair.needs_repair(connection) == repair.EXPIRING
        connection.status, connection.last_error = "deauthorized", "organisation_removed"
        assert repair.needs_repair(connection) == "organisation_removed"


def test_a_week_long_refresh_token_is_reminded_half_way_not_as_soon_as_it_is_linked(
    app: Flask, linked: str, clock: Clock
) -> None:
    """NetSuite's refresh token lasts seven days from the approval, under the 14 days'
    notice: the customer who just connected (or reconnected) is not asked to reconnect."""
    with smtp_sink() as (sink, settings):
        app.config.update(settings)
        with app.app_context():
            connection = db.session.scalars(select(Connection)).one()
            connection.linked_at = clock.now
            connection.refresh_expires_at = clock.now + timedelta(days=7)
            db.session.commit()
            mail.send_due()  # the consent receipt
            sink.messages.clear()
            assert repair.needs_repair(connection) is None
            assert repair.send_due_reminders() == 0

            clock.advance(timedelta(days=3, hours=13))
            assert repair.needs_repair(connection) == repair.EXPIRING
            assert repair.send_due_reminders() == 1
            mail.send_due()
    [reminder] = sink.to("owner@acme.example")
    assert "before access ends" in str(reminder["Subject"])


def test_the_customer_page_says_what_broke_and_reconnects_in_one_click(
    app: Flask, linked: str, connecting: FlaskClient, live_sandbox: LiveSandbox
) -> None:
    page = text_of(connecting.get("/my"))
    assert "Connected" in page and "Reconnect" not in page
    _break(app, "revoked_at_provider")
    page = text_of(connecting.get("/my"))
    assert "Needs reconnecting: access was removed in your accounting software" in page
    assert ORGANISATIONS[1].name in page
    assert "Disconnect" in page

    asked = connecting.post(f"/my/connections/{linked}/reconnect", data={"submit": "1"})
    assert asked.status_code == 303
    opened = connecting.get(asked.location.removeprefix("http://localhost"))
    assert opened.location.startswith(live_sandbox.url)
    callback = live_sandbox.authorize(opened.location, "approve")
    connecting.get(callback.removeprefix("http://localhost"), follow_redirects=True)
    assert [(c.public_id, c.status) for c in _connections(app)] == [(linked, "linked")]
    page = text_of(connecting.get("/my"))
    assert "Needs reconnecting" not in page and "Reconnect" not in page


def test_reconnecting_someone_elses_connection_is_not_found(
    app: Flask, linked: str, client: FlaskClient
) -> None:
    with app.app_context():
        other = create_customer("Globex", "it@globex.example")
        link = journey_link(other.public_id, "default").removeprefix("http://localhost")
    client.get(link)
    _break(app)
    assert (
        client.post(f"/my/connections/{linked}/reconnect", data={"submit": "1"}).status_code == 404
    )


def _timeline_texts(app: Flask) -> list[str]:
    with app.app_context():
        customer = db.session.scalars(select(Customer)).one()
        connections = list(db.session.scalars(select(Connection)))
        return [
            " ".join([entry.title, *entry.details]) for entry in timeline(customer, connections)
        ]


def test_a_broken_connection_gets_at_most_three_repair_emails_then_the_timeline_says_so(
    app: Flask, linked: str, clock: Clock
) -> None:
    spacing = timedelta(seconds=app.config["CONNECTION_REPAIR_REMINDER_SECONDS"])
    with smtp_sink() as (sink, settings):
        app.config.update(settings)
        with app.app_context():
            mail.send_due()  # the consent receipt
            sink.messages.clear()
            # Healthy: nobody is bothered.
            assert repair.send_due_reminders() == 0
        _break(app, "refresh_refused")
        with app.app_context():
            assert repair.send_due_reminders() == 1
            assert repair.send_due_reminders() == 0
            clock.advance(spacing)
            assert repair.send_due_reminders() == 1
            clock.advance(spacing)
            assert repair.send_due_reminders() == 1
            clock.advance(spacing)
            assert repair.send_due_reminders() == 0
            assert repair.send_due_reminders() == 0
            assert mail.send_due() == 3
    messages = sink.to("owner@acme.example")
    assert len(messages) == 3
    first = messages[0]
    # (A long subject is folded onto the next header line: mail clients unfold it.)
    assert str(first["Subject"]).strip() == (
        "Northwind Lending: your Sandbox Accounting connection needs reconnecting"
    )
    text = str(first.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    assert "your accounting software stopped accepting our access" in text
    assert ORGANISATIONS[1].name in text
    assert "http://localhost/connect/repair/" in text
    texts = _timeline_texts(app)
    assert sum("Repair reminder sent" in t for t in texts) == 3
    assert sum("still broken after 3 reminders" in t for t in texts) == 1


def test_following_the_repair_email_restores_the_same_connection(
    app: Flask, linked: str, live_sandbox: LiveSandbox
) -> None:
    with smtp_sink() as (sink, settings):
        app.config.update(settings)
        _break(app, "revoked_at_provider")
        with app.app_context():
            assert repair.send_due_reminders() == 1
            mail.send_due()
    [message] = [m for m in sink.to("owner@acme.example") if "reconnecting" in m["Subject"]]
    text = str(message.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    found = re.search(r"http://localhost(/connect/repair/\S+)", text)
    assert found is not None
    # Any browser: the email's link is the customer's key.
    browser = app.test_client()
    opened = browser.get(found.group(1))
    callback = live_sandbox.authorize(opened.location, "approve")
    browser.get(callback.removeprefix("http://localhost"), follow_redirects=True)
    [repaired] = _connections(app)
    assert (repaired.public_id, repaired.status) == (linked, "linked")
    assert (repaired.repair_reminders_sent, repaired.repair_reminded_at) == (0, None)
    assert any("outcome: repaired" in t for t in _timeline_texts(app))


def test_no_repair_email_without_a_mail_server(app: Flask, linked: str) -> None:
    _break(app)
    with app.app_context():
        assert repair.send_due_reminders() == 0
        assert db.session.scalars(select(MailMessage)).all() == []


def _quickbooks_connection(app: Flask, status: str = "deauthorized") -> str:
    with app.app_context():
        customer = db.session.scalars(select(Customer)).one()
        connection = Connection(
            customer_id=customer.id,
            platform="quickbooks",
            status=status,
            org_id="9130351925784726",
            org_name="Craig's Design",
            last_error="revoked_at_provider",
        )
        db.session.add(connection)
        db.session.commit()
        return connection.public_id


def test_intuits_reconnect_url_repairs_the_quickbooks_connection_of_the_browsers_customer(
    app: Flask, linked: str, connecting: FlaskClient
) -> None:
    quickbooks = _quickbooks_connection(app)
    sent = connecting.get("/connect/quickbooks/reconnect")
    assert sent.status_code == 303
    token = sent.location.rsplit("/connect/repair/", 1)[1]
    with app.app_context():
        claims = read_token(token)
    assert (claims.reconnect, claims.platform) == (quickbooks, "quickbooks")


def test_intuits_reconnect_url_tells_any_other_browser_how_to_get_a_link(
    app: Flask, client: FlaskClient
) -> None:
    page = client.get("/connect/quickbooks/reconnect")
    assert page.status_code == 200
    text = text_of(page)
    assert "Reconnect your QuickBooks Online" in text
    assert 'href="/my/link"' in text
    # Only platforms that send customers to a Reconnect URL have one.
    assert client.get("/connect/xero/reconnect").status_code == 404


def test_the_cli_lists_the_reconnect_url_and_prints_repair_links(app: Flask, linked: str) -> None:
    runner = app.test_cli_runner()
    listing = runner.invoke(args=["platforms", "list"]).output
    assert "reconnect: http://localhost/connect/quickbooks/reconnect" in listing
    assert listing.count("reconnect: ") == 1
    _break(app)
    printed = runner.invoke(args=["connections", "repair-link", linked])
    assert printed.exit_code == 0
    assert printed.stdout.startswith("http://localhost/connect/repair/")

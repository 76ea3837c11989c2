"""Admin console, customers: search, the customer's timeline, and the support actions."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app import clock
from app.admin.keyset import PAGE_SIZE
from app.engine.registry import get_journey
from app.engine.steps import start_or_resume
from app.extensions import db
from app.links import read_token
from app.models import (
    AuditEntry,
    Connection,
    Customer,
    CustomerNote,
    JourneyEvent,
    JourneyRun,
    OutboxEvent,
    WebhookDelivery,
    WebhookEndpoint,
)
from app.vault import decrypt_json, encrypt_json
from tests.admin import signed_in_as
from tests.consent_records import chained
from tests.integration.conftest import LiveSandbox


def _customer(app: Flask, name: str, email: str, external_id: str | None = None) -> str:
    with app.app_context():
        customer = Customer(name=name, email=email, external_id=external_id)
        db.session.add(customer)
        db.session.commit()
        return customer.public_id


def _customer_id(app: Flask, public_id: str) -> int:
    with app.app_context():
        return db.session.scalars(select(Customer.id).where(Customer.public_id == public_id)).one()


def _audit(app: Flask, action: str) -> list[AuditEntry]:
    with app.app_context():
        entries = list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))
        db.session.expunge_all()
        return entries


def _result_names(html: str) -> list[str]:
    return re.findall(r'<a href="/admin/customers/[0-9a-f-]{36}">([^<]+)</a>', html)


@pytest.fixture
def two_customers(app: Flask) -> dict[str, str]:
    return {
        "acme": _customer(app, "Acme Trading Ltd", "owner@acme.example", "CRM-4711"),
        "globex": _customer(app, "Globex Corp", "finance@globex.example", "crm-0815"),
    }


@pytest.mark.parametrize("query", ["acme", "TRADING", "owner@ACME", "crm-47", "4711"])
def test_search_finds_a_customer_by_name_email_or_external_id_in_any_case(
    app: Flask, two_customers: dict[str, str], query: str
) -> None:
    viewer = signed_in_as(app, "viewer")
    response = viewer.get("/admin/customers", query_string={"q": query})
    assert response.status_code == 200
    assert _result_names(response.text) == ["Acme Trading Ltd"]


def test_an_empty_search_lists_every_customer_newest_first(
    app: Flask, two_customers: dict[str, str]
) -> None:
    response = signed_in_as(app, "viewer").get("/admin/customers")
    assert _result_names(response.text) == ["Globex Corp", "Acme Trading Ltd"]


def test_a_search_for_like_wildcards_matches_them_literally(
    app: Flask, two_customers: dict[str, str]
) -> None:
    viewer = signed_in_as(app, "viewer")
    assert _result_names(viewer.get("/admin/customers?q=%25").text) == []
    response = viewer.get("/admin/customers?q=nobody")
    assert "No customer matches “nobody”" in unescape(response.text)


def test_search_results_come_alone_when_htmx_asks_for_them(
    app: Flask, two_customers: dict[str, str]
) -> None:
    viewer = signed_in_as(app, "viewer")
    live = viewer.get(
        "/admin/customers?q=globex",
        headers={"HX-Request": "true", "HX-Target": "div#customer-results"},
    )
    assert live.status_code == 200
    assert live.text.lstrip().startswith('<div id="customer-results">')
    assert "<html" not in live.text
    assert _result_names(live.text) == ["Globex Corp"]
    assert "HX-Target" in live.headers["Vary"]
    # Any other htmx request (a boosted link, say) gets the whole page.
    whole = viewer.get("/admin/customers?q=globex", headers={"HX-Request": "true"})
    assert "<html" in whole.text


def test_search_results_are_paged(app: Flask) -> None:
    with app.app_context():
        db.session.add_all(
            Customer(name=f"Shop {i:03}", email=f"shop{i}@example.com")
            for i in range(PAGE_SIZE + 3)
        )
        db.session.commit()
    viewer = signed_in_as(app, "viewer")
    first = viewer.get("/admin/customers?q=shop")
    names = _result_names(first.text)
    assert len(names) == PAGE_SIZE
    assert names[0] == f"Shop {PAGE_SIZE + 2:03}"
    older = re.search(r'href="([^"]+)" rel="next"', first.text)
    assert older is not None
    second = viewer.get(unescape(older.group(1)))
    assert _result_names(second.text) == ["Shop 002", "Shop 001", "Shop 000"]
    assert 'rel="next"' not in second.text
    newer = re.search(r'href="([^"]+)" rel="prev"', second.text)
    assert newer is not None
    assert _result_names(viewer.get(unescape(newer.group(1))).text) == names


@pytest.mark.parametrize(
    "query", ["q=" + "x" * 201, "before=abc", "after=-1", "before=99999999999999999999"]
)
def test_bad_search_parameters_are_refused_with_400(app: Flask, query: str) -> None:
    response = signed_in_as(app, "viewer").get(f"/admin/customers?{query}")
    assert response.status_code == 400


def test_an_unknown_customer_is_not_found(app: Flask) -> None:
    support = signed_in_as(app, "support")
    assert support.get("/admin/customers/no-such-customer").status_code == 404
    assert (
        support.post("/admin/customers/no-such-customer/notes", data={"body": "x"}).status_code
        == 404
    )


def _default_version() -> str:
    journey = get_journey("default")
    assert journey is not None
    return journey.version


def _seed_history(app: Flask, public_id: str) -> None:
    """One event of every kind, a minute apart, oldest first."""
    start = clock.now() - timedelta(hours=1)

    def at(minute: int):  # type: ignore[no-untyped-def]
        return start + timedelta(minutes=minute)

    with app.app_context():
        customer_id = _customer_id(app, public_id)
        run = JourneyRun(
            customer_id=customer_id,
            journey_id="default",
            journey_version=_default_version(),
            current_step="connect",
            created_at=at(0),
        )
        db.session.add(run)
        db.session.flush()
        db.session.add(
            JourneyEvent(
                run_id=run.id, step="welcome", kind="completed", occurred_at=at(1), duration_ms=4200
            )
        )
        db.session.add(
            chained(
                customer_id=customer_id,
                run_id=run.id,
                journey_id="default",
                journey_version=_default_version(),
                item_key="financial_statements",
                text="Financial statements",
                text_sha256="b" * 64,
                decision="granted",
                locale="en",
                recorded_at=at(2),
            )
        )
        endpoint = WebhookEndpoint(url="https://hooks.example/onramp", secrets_ciphertext="x")
        event = OutboxEvent(
            type="consent.granted", data={}, customer_id=customer_id, occurred_at=at(3)
        )
        db.session.add_all([endpoint, event])
        db.session.flush()
        db.session.add(
            WebhookDelivery(
                event_id=event.id,
                endpoint_id=endpoint.id,
                status="failed",
                attempts=3,
                last_status_code=500,
            )
        )
        db.session.add(
            JourneyEvent(
                run_id=run.id,
                step="connect",
                kind="failed",
                occurred_at=at(4),
                duration_ms=1500,
                detail="access_denied",
            )
        )
        db.session.add(
            Connection(
                customer_id=customer_id,
                run_id=run.id,
                platform="sandbox",
                status="failed",
                last_error="access_denied",
                last_error_detail="The user said no",
                token_ciphertext=encrypt_json({"access_token": "secret-access-token"}),
                created_at=at(5),
            )
        )
        db.session.add(CustomerNote(customer_id=customer_id, body="Called them", created_at=at(6)))
        db.session.add(
            AuditEntry(
                actor_type="user",
                actor_id="someone@example.com",
                action="customer.link_created",
                subject_type="customer",
                subject_id=public_id,
                after={"journey_id": "default"},
                occurred_at=at(7),
            )
        )
        db.session.commit()


def test_the_timeline_groups_a_run_by_step_in_plain_words(
    app: Flask, two_customers: dict[str, str]
) -> None:
    _seed_history(app, two_customers["acme"])
    page = signed_in_as(app, "viewer").get(f"/admin/customers/{two_customers['acme']}")
    assert page.status_code == 200
    text = unescape(page.text)
    timeline = text[text.index('id="timeline"') :]
    # The run's section: its journey's name, then its steps in the journey's order, each
    # named by its title, the entries in the order they happened.
    expected = [
        "Share your accounts for your loan application, started",
        "The journey as a whole",
        "Started “Share your accounts for your loan application”",
        "“Connect your accounting software to Northwind Lending”",
        "Finished this step",
        "“What you agree to share”",
        "Consent granted: Profit and loss, balance sheet and cash flow",
        "“Connect your accounting software”",
        "Could not go on: access_denied",
        "Connection attempt with Sandbox",
        # What belongs to no run, newest first; webhook events folded away.
        "Other activity",
        "Journey link created by someone@example.com (user)",
        "Note by a former colleague",
        "Technical details (1)",
        "Event consent.granted",
    ]
    positions = [timeline.index(title) for title in expected]
    assert positions == sorted(positions)
    for detail in [
        "took 4.2 s",
        "took 1.5 s",
        "Last error access_denied: The user said no",
        "To https://hooks.example/onramp: failed, 3 attempts, last HTTP 500",
        "Called them",
        "journey_id: default",
    ]:
        assert detail in timeline
    # Only statuses and error codes are shown: never a token, not even encrypted.
    assert "secret-access-token" not in page.text
    with app.app_context():
        ciphertext = db.session.scalars(select(Connection.token_ciphertext)).one()
    assert ciphertext is not None
    assert ciphertext not in page.text


def test_a_customer_page_shows_what_the_customer_did_in_their_journey(
    app: Flask, customer_client: FlaskClient
) -> None:
    customer_client.post("/journey/welcome")
    customer_client.post(
        "/journey/consent",
        data={
            "consent_financial_statements": "y",
            "consent_invoices_bills": "y",
            "agree": "Agree and continue",
        },
    )
    with app.app_context():
        public_id = db.session.scalars(select(Customer.public_id)).one()
    text = unescape(signed_in_as(app, "viewer").get(f"/admin/customers/{public_id}").text)
    for title in [
        "Started “Share your accounts for your loan application”",
        "Finished this step",
        "Consent granted: Profit and loss, balance sheet and cash flow",
        "Consent declined: Monthly updates of the same records while your loan is open",
        "Event consent.granted",
        "Event journey.started",
    ]:
        assert title in text


def _journey_link_in(html: str) -> str:
    found = re.search(r'id="new-link" type="text" readonly value="([^"]+)"', html)
    assert found is not None, "no link shown"
    return unescape(found.group(1))


@pytest.mark.parametrize("role", ["support", "admin"])
def test_support_and_admins_create_a_journey_link_to_send(
    app: Flask, two_customers: dict[str, str], role: str
) -> None:
    colleague = signed_in_as(app, role)
    acme = two_customers["acme"]
    response = colleague.post(f"/admin/customers/{acme}/links", data={"journey": "business"})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    url = _journey_link_in(response.text)
    with app.test_request_context():
        claims = read_token(url.rsplit("/", 1)[1])
    assert (claims.customer_public_id, claims.journey_id) == (acme, "business")
    # The link opens the journey for that customer.
    opened = app.test_client().get(url.removeprefix("http://localhost"))
    assert opened.status_code in (302, 303)
    # Straight to the first step: one redirect from the link.
    assert opened.location.endswith("/journey/welcome")
    [entry] = _audit(app, "customer.link_created")
    assert (entry.actor_id, entry.subject_type, entry.subject_id) == (
        f"{role}@example.com",
        "customer",
        acme,
    )
    assert entry.after is not None
    assert entry.after["journey_id"] == "business"
    # The link is a credential: it is shown once, never kept.
    assert url not in str(entry.after)
    assert url not in signed_in_as(app, "viewer").get(f"/admin/customers/{acme}").text


def test_a_new_link_opens_the_customers_own_journey_unless_told(
    app: Flask, two_customers: dict[str, str]
) -> None:
    acme = two_customers["acme"]
    with app.app_context():
        customer = db.session.scalars(select(Customer).where(Customer.public_id == acme)).one()
        journey = get_journey("business")
        assert journey is not None
        start_or_resume(customer, journey)
    support = signed_in_as(app, "support")
    page = support.get(f"/admin/customers/{acme}").text
    assert '<option selected value="business">' in page
    # A customer who never started a journey gets the list's first, as before.
    other = support.get(f"/admin/customers/{two_customers['globex']}").text
    link_form = other.split('id="send-link-title"')[1]
    assert "<option selected" not in link_form


@pytest.mark.parametrize("journey", ["", "no-such-journey"])
def test_a_link_needs_a_known_journey(
    app: Flask, two_customers: dict[str, str], journey: str
) -> None:
    support = signed_in_as(app, "support")
    response = support.post(
        f"/admin/customers/{two_customers['acme']}/links", data={"journey": journey}
    )
    assert response.status_code == 422
    assert "journey" in response.text
    assert 'id="new-link"' not in response.text
    assert _audit(app, "customer.link_created") == []


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_viewers_and_editors_cannot_act_for_a_customer(
    app: Flask, two_customers: dict[str, str], role: str
) -> None:
    acme = two_customers["acme"]
    with app.app_context():
        connection = Connection(
            customer_id=_customer_id(app, acme), platform="sandbox", status="linked", org_id="1"
        )
        db.session.add(connection)
        db.session.commit()
        connection_id = connection.public_id
    colleague = signed_in_as(app, role)
    page = colleague.get(f"/admin/customers/{acme}")
    assert "Send a new link" not in page.text
    assert "Add an internal note" not in page.text
    assert "Disconnect" not in page.text
    base = f"/admin/customers/{acme}"
    refused = [
        colleague.post(f"{base}/links", data={"journey": "default"}),
        colleague.post(f"{base}/notes", data={"body": "Sneaky"}),
        colleague.post(f"{base}/connections/{connection_id}/reconnect-link"),
        colleague.get(f"{base}/connections/{connection_id}/disconnect"),
        colleague.post(f"{base}/connections/{connection_id}/disconnect"),
    ]
    assert [r.status_code for r in refused] == [403] * 5
    with app.app_context():
        assert db.session.scalars(select(CustomerNote)).all() == []
        assert db.session.scalars(select(Connection.status)).one() == "linked"
        actions = set(db.session.scalars(select(AuditEntry.action)))
    assert actions == {"user.login"}


def test_support_adds_an_internal_note(app: Flask, two_customers: dict[str, str]) -> None:
    support = signed_in_as(app, "support")
    acme = two_customers["acme"]
    response = support.post(
        f"/admin/customers/{acme}/notes", data={"body": "  Prefers calls <b>after 3pm</b>  "}
    )
    assert response.status_code == 303
    page = support.get(response.location)
    assert "Note added." in page.text
    assert "Note by support@example.com" in page.text
    assert "Prefers calls &lt;b&gt;after 3pm&lt;/b&gt;" in page.text
    with app.app_context():
        note = db.session.scalars(select(CustomerNote)).one()
        assert note.body == "Prefers calls <b>after 3pm</b>"
        note_id = note.id
    [entry] = _audit(app, "customer.note_added")
    assert (entry.actor_id, entry.subject_id, entry.after) == (
        "support@example.com",
        acme,
        {"note_id": note_id},
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [("   ", "Write the note before adding it."), ("x" * 5001, "Keep the note under 5,000")],
)
def test_a_bad_note_is_explained_and_not_kept(
    app: Flask, two_customers: dict[str, str], body: str, message: str
) -> None:
    support = signed_in_as(app, "support")
    response = support.post(f"/admin/customers/{two_customers['acme']}/notes", data={"body": body})
    assert response.status_code == 422
    assert message in response.text
    with app.app_context():
        assert db.session.scalars(select(CustomerNote)).all() == []
    assert _audit(app, "customer.note_added") == []


def _customer_of(app: Flask, connection: Connection) -> str:
    with app.app_context():
        return db.session.scalars(
            select(Customer.public_id).where(Customer.id == connection.customer_id)
        ).one()


def test_support_disconnects_after_confirming_and_the_provider_revokes(
    app: Flask, linked_sandbox: Connection, live_sandbox: LiveSandbox
) -> None:
    with app.app_context():
        token = decrypt_json(linked_sandbox.token_ciphertext or "")
    customer = _customer_of(app, linked_sandbox)
    support = signed_in_as(app, "support")
    page = support.get(f"/admin/customers/{customer}")
    assert "Sandbox" in page.text
    assert ">linked<" in page.text
    confirm_url = f"/admin/customers/{customer}/connections/{linked_sandbox.public_id}/disconnect"
    assert confirm_url in page.text
    confirm = support.get(confirm_url)
    assert confirm.status_code == 200
    assert "Disconnect Sandbox Accounting for Acme Ltd?" in confirm.text
    with app.app_context():
        assert db.session.get(Connection, linked_sandbox.id).status == "linked"  # type: ignore[union-attr]

    done = support.post(confirm_url)
    assert done.status_code == 303
    after = support.get(done.location)
    assert "Disconnected, and the stored tokens are deleted." in after.text
    with app.app_context():
        connection = db.session.get(Connection, linked_sandbox.id)
        assert connection is not None
        assert connection.status == "disconnected"
        assert connection.token_ciphertext is None
        events = set(db.session.scalars(select(OutboxEvent.type)))
    assert "connection.disconnected" in events
    revoked = requests.get(
        f"{live_sandbox.url}/api/organisation",
        headers={"Authorization": f"Bearer {token['access_token']}"},
        timeout=10,
    )
    assert revoked.status_code == 401
    [entry] = _audit(app, "connection.disconnect")
    assert (entry.actor_id, entry.subject_id, entry.before, entry.after) == (
        "support@example.com",
        linked_sandbox.public_id,
        {"status": "linked"},
        {"status": "disconnected"},
    )
    # The page now offers no second disconnect, and a repeated post changes nothing.
    assert confirm_url not in after.text
    again = support.post(confirm_url)
    assert again.status_code == 303
    assert "there is nothing to disconnect" in support.get(again.location).text
    assert len(_audit(app, "connection.disconnect")) == 1
    assert "Disconnected by support@example.com" in unescape(after.text)


def test_a_reconnect_link_brings_back_the_same_connection(
    app: Flask, linked_sandbox: Connection
) -> None:
    customer = _customer_of(app, linked_sandbox)
    admin = signed_in_as(app, "admin")
    response = admin.post(
        f"/admin/customers/{customer}/connections/{linked_sandbox.public_id}/reconnect-link"
    )
    assert response.status_code == 200
    assert "Reconnect link created" in response.text
    url = _journey_link_in(response.text)
    with app.test_request_context():
        claims = read_token(url.rsplit("/", 1)[1])
    assert (claims.journey_id, claims.reconnect) == ("reconnect", linked_sandbox.public_id)
    [entry] = _audit(app, "customer.link_created")
    assert entry.after is not None
    assert entry.after["reconnects"] == linked_sandbox.public_id


def test_a_connection_that_never_linked_offers_no_reconnect_or_disconnect(
    app: Flask, two_customers: dict[str, str]
) -> None:
    acme = two_customers["acme"]
    with app.app_context():
        connection = Connection(customer_id=_customer_id(app, acme), platform="sandbox")
        db.session.add(connection)
        db.session.commit()
        connection_id = connection.public_id
    support = signed_in_as(app, "support")
    base = f"/admin/customers/{acme}/connections/{connection_id}"
    reconnect = support.post(f"{base}/reconnect-link")
    assert reconnect.status_code == 303
    assert "cannot be reconnected" in support.get(reconnect.location).text
    disconnect = support.post(f"{base}/disconnect")
    assert disconnect.status_code == 303
    assert _audit(app, "customer.link_created") == []
    assert _audit(app, "connection.disconnect") == []
    # A connection of another customer is not reachable through this one.
    globex = two_customers["globex"]
    other = support.post(f"/admin/customers/{globex}/connections/{connection_id}/reconnect-link")
    assert other.status_code == 404

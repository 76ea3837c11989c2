"""The customer at a glance: the summary on top of their page, the timeline grouped by run
and step with the noise folded away, and the overview's numbers that lead to the lists
behind them."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any

import pytest
from flask import Flask

from app import clock, mail
from app.admin.keyset import PAGE_SIZE
from app.consent.personal import encrypt_for
from app.customers import summary as facts
from app.engine.registry import get_journey
from app.extensions import db
from app.models import (
    Connection,
    Customer,
    Delegation,
    JourneyEvent,
    JourneyRun,
    OutboxEvent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from tests.admin import PASSWORD, make_user, signed_in_as
from tests.consent_records import chained
from tests.mail_sink import smtp_sink

JOURNEY = "Share your accounts for your loan application"
CONNECT = "Connect your accounting software"


def _version() -> str:
    journey = get_journey("default")
    assert journey is not None
    return journey.version


def _customer(name: str = "Acme Trading Ltd") -> Customer:
    customer = Customer(name=name, email=f"{name.split()[0].lower()}@example.com")
    db.session.add(customer)
    db.session.flush()
    return customer


def _run(customer: Customer, idle: timedelta = timedelta(minutes=5), **fields: Any) -> JourneyRun:
    now = clock.now()
    run = JourneyRun(
        customer_id=customer.id,
        journey_id="default",
        journey_version=_version(),
        current_step=fields.pop("current_step", "connect"),
        created_at=now - idle - timedelta(minutes=10),
        updated_at=now - idle,
        **fields,
    )
    db.session.add(run)
    db.session.flush()
    return run


def _delegation(customer: Customer, run: JourneyRun, name: str = "Jane Smith") -> Delegation:
    delegation = Delegation(
        customer_id=customer.id,
        run_id=run.id,
        token_sha256=f"{run.id:064d}",
        role="accountant",
        personal_ciphertext=encrypt_for(customer, {"name": name, "email": "jane@example.com"}),
        expires_at=clock.now() + timedelta(days=7),
    )
    db.session.add(delegation)
    return delegation


def _connection(customer: Customer, run: JourneyRun | None, status: str, **fields: Any) -> None:
    db.session.add(
        Connection(
            customer_id=customer.id,
            run_id=run.id if run else None,
            platform="sandbox",
            status=status,
            **fields,
        )
    )


def _summary(app: Flask, seed: Callable[[Customer], None]) -> facts.Summary:
    with app.app_context():
        customer = _customer()
        seed(customer)
        db.session.commit()
        return facts.summary(customer)


# The summary: each state, who they wait on, and the next sensible action.


def test_a_customer_who_never_started_is_sent_a_first_link(app: Flask) -> None:
    found = _summary(app, lambda customer: None)
    assert (found.runs, found.waiting_on) == ([], "nobody")
    assert found.next_action.action == facts.FRESH_LINK
    assert found.next_action.sentence == "Send a fresh link: they have not started a journey yet."
    # No journey of theirs to open: the colleague chooses one under "Send a new link".
    assert found.next_action.journey_id is None


def test_a_customer_in_the_middle_of_it_needs_nothing_yet(app: Flask) -> None:
    found = _summary(app, lambda customer: _run(customer) and None)
    [run] = found.runs
    assert (run.journey, run.state) == (JOURNEY, facts.IN_PROGRESS)
    assert run.where == f"stopped at “{CONNECT}” 5 minutes ago"
    assert found.waiting_on == "the customer"
    assert found.next_action == facts.NextAction(
        "Nothing to do yet: they are in the middle of their journey."
    )


def test_a_stuck_customer_is_sent_a_fresh_link_to_the_same_journey(app: Flask) -> None:
    found = _summary(app, lambda customer: _run(customer, timedelta(days=3)) and None)
    [run] = found.runs
    assert (run.state, run.where) == (facts.IN_PROGRESS, f"stopped at “{CONNECT}” 3 days ago")
    assert found.next_action.action == facts.FRESH_LINK
    assert found.next_action.journey_id == "default"
    assert found.next_action.label == "Send a new link"
    assert found.next_action.sentence == "Send a fresh link: they have not moved for 3 days."


def test_an_abandoned_run_is_called_so(app: Flask) -> None:
    found = _summary(
        app,
        lambda customer: _run(customer, timedelta(days=2), abandoned_at=clock.now()) and None,
    )
    assert found.runs[0].state == facts.ABANDONED
    assert found.next_action.action == facts.FRESH_LINK


def test_waiting_on_the_accountant_they_asked(app: Flask) -> None:
    def seed(customer: Customer) -> None:
        _delegation(customer, _run(customer, timedelta(days=3)))

    found = _summary(app, seed)
    [run] = found.runs
    assert run.state == facts.WAITING
    assert run.where == f"at “{CONNECT}”, waiting for Jane Smith, their accountant to connect"
    assert found.waiting_on == "the person they asked (Jane Smith, their accountant)"
    assert found.next_action.action is None
    assert found.next_action.sentence.startswith(
        "Nothing to do yet: Jane Smith, their accountant has a link that works until "
    )


def test_a_completed_and_connected_customer_needs_nothing(app: Flask) -> None:
    def seed(customer: Customer) -> None:
        run = _run(customer, status="completed", current_step="done", completed_at=clock.now())
        _connection(customer, run, "linked", org_id="org-1", org_name="Acme Trading Ltd")

    found = _summary(app, seed)
    assert found.runs[0].state == facts.COMPLETED
    [connection] = found.connections
    assert (connection.platform, connection.organisation, connection.words) == (
        "Sandbox Accounting",
        "Acme Trading Ltd",
        "connected",
    )
    assert found.waiting_on == "nobody"
    assert found.next_action == facts.NextAction("Nothing to do: everything is connected.")


def test_a_declined_journey_offers_a_fresh_link_to_reconsider(app: Flask) -> None:
    found = _summary(
        app, lambda customer: _run(customer, status="declined", current_step="consent") and None
    )
    assert found.runs[0].state == facts.DECLINED
    assert found.runs[0].where == "declined at “What you agree to share” 5 minutes ago"
    assert found.next_action.action == facts.FRESH_LINK
    assert "reconsider" in found.next_action.sentence


def test_consents_that_ran_out_make_the_journey_expired(app: Flask) -> None:
    def seed(customer: Customer) -> None:
        run = _run(customer, status="completed", current_step="done", completed_at=clock.now())
        db.session.add(
            chained(
                customer_id=customer.id,
                run_id=run.id,
                journey_id="default",
                journey_version=run.journey_version,
                item_key="financial_statements",
                text="Financial statements",
                text_sha256="b" * 64,
                decision="granted",
                locale="en",
                recorded_at=clock.now() - timedelta(days=400),
                expires_at=clock.now() - timedelta(days=35),
            )
        )

    found = _summary(app, seed)
    assert found.runs[0].state == facts.EXPIRED
    [consent] = found.consents
    assert (consent.what, consent.journey, consent.state) == (
        "Profit and loss, balance sheet and cash flow",
        JOURNEY,
        "expired",
    )
    assert found.next_action.sentence == "Send a fresh link: what they agreed to share has expired."


def test_a_broken_connection_asks_for_a_reconnect_link(app: Flask) -> None:
    def seed(customer: Customer) -> None:
        run = _run(customer, status="completed", current_step="done", completed_at=clock.now())
        _connection(
            customer,
            run,
            "deauthorized",
            org_id="org-1",
            org_name="Acme Trading Ltd",
            last_error="revoked_at_provider",
        )

    found = _summary(app, seed)
    [connection] = found.connections
    assert connection.words.startswith("broken: access was withdrawn at the platform")
    assert found.waiting_on == "the business: a connection to repair"
    assert found.next_action.action == facts.RECONNECT
    assert found.next_action.label == "Send a reconnect link for Sandbox Accounting"


def test_uploaded_files_wait_on_the_business(app: Flask) -> None:
    def seed(customer: Customer) -> None:
        run = _run(customer, status="completed", current_step="done", completed_at=clock.now())
        db.session.add(
            JourneyEvent(run_id=run.id, step="upload", kind="uploaded", detail="1 file (a.pdf)")
        )

    found = _summary(app, seed)
    assert found.waiting_on == "the business: uploaded files to review"
    assert found.next_action.sentence.startswith("Review the files they uploaded")


# The page: the summary's button, the grouped timeline, names instead of ids.


def _page(app: Flask, role: str, public_id: str) -> str:
    return unescape(signed_in_as(app, role).get(f"/admin/customers/{public_id}").text)


def _stuck_customer_with_noise(app: Flask) -> str:
    with app.app_context():
        customer = _customer()
        run = _run(customer, timedelta(days=3))
        for step, kind in (("welcome", "entered"), ("welcome", "completed")):
            db.session.add(JourneyEvent(run_id=run.id, step=step, kind=kind))
        for _ in range(3):  # the same refusal, three times
            db.session.add(
                JourneyEvent(run_id=run.id, step="connect", kind="failed", detail="access_denied")
            )
        for _ in range(4):  # events nobody subscribed to
            db.session.add(
                OutboxEvent(
                    type="journey.step_completed",
                    data={"run_id": run.public_id},
                    customer_id=customer.id,
                )
            )
        _connection(customer, run, "failed", last_error="access_denied")
        db.session.commit()
        return customer.public_id


def test_the_timeline_folds_the_noise_of_a_run_into_technical_details(app: Flask) -> None:
    page = _page(app, "viewer", _stuck_customer_with_noise(app))
    timeline = page[page.index('id="timeline"') :]
    assert f"{JOURNEY}, started" in timeline
    # Each step under its title, in the journey's order.
    welcome = timeline.index("“Connect your accounting software to Northwind Lending”")
    connect = timeline.index(f"“{CONNECT}”")
    assert welcome < timeline.index("Opened this step") < connect
    # The refusal is said once; its repeats and the four webhook events are folded.
    assert timeline.count("Could not go on: access_denied") == 3
    folded = re.findall(r"<summary>Technical details \((\d+)\)</summary>", timeline)
    assert folded == ["4", "2"]  # the run's webhook events; the connect step's repeats
    shown = re.sub(r"<details.*?</details>", "", timeline, flags=re.S)
    assert shown.count("Could not go on: access_denied") == 1
    assert "No webhook endpoint subscribed" not in shown
    assert "Connection attempt with Sandbox Accounting" in shown
    # Names, not ids.
    assert "Journey default" not in timeline and "Step connect" not in timeline


def test_the_summary_offers_support_the_fresh_link_and_viewers_only_the_sentence(
    app: Flask,
) -> None:
    public_id = _stuck_customer_with_noise(app)
    support = signed_in_as(app, "support")
    page = unescape(support.get(f"/admin/customers/{public_id}").text)
    glance = page[page.index('id="summary-title"') : page.index('id="timeline"')]
    assert "Waiting on</dt><dd>the customer" in glance
    assert "Send a fresh link: they have not moved for 3 days." in glance
    assert f"stopped at “{CONNECT}” 3 days ago" in glance
    assert "failed: access_denied" in glance
    form = re.search(r'<form method="post" action="([^"]+)">(.*?)</form>', glance, re.S)
    assert form is not None and 'name="journey" value="default"' in form.group(2)
    assert ">Send a new link</button>" in form.group(2)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.group(2))
    assert csrf is not None
    sent = support.post(form.group(1), data={"csrf_token": csrf.group(1), "journey": "default"})
    assert sent.status_code == 200
    assert 'id="new-link"' in sent.text
    viewer = _page(app, "viewer", public_id)
    assert "Send a fresh link: they have not moved for 3 days." in viewer
    assert ">Send a new link</button>" not in viewer


# The overview: each number is a link, and the list behind it has that many rows.


@pytest.fixture
def noon() -> Iterator[None]:
    """Midday UTC: what happened minutes ago happened today."""
    clock.set_now(datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0))
    yield
    clock.set_now(None)


@pytest.fixture
def overview_seed(app: Flask, noon: None) -> None:
    now = clock.now()
    with app.app_context():
        for n in range(2):
            _run(_customer(f"Stuck {n}"), timedelta(days=2))
        _run(_customer("Busy"))  # moving: not stuck
        waiting = _customer("Waiting")
        _delegation(waiting, _run(waiting, timedelta(days=2)))
        broken = _customer("Broken")
        _connection(broken, None, "deauthorized", org_id="o", last_error="refresh_refused")
        done = _customer("Done")
        _run(done, status="completed", current_step="done", completed_at=now)
        failed = _customer("Failed")
        db.session.add(
            OutboxEvent(type="connection.failed", data={}, customer_id=failed.id, occurred_at=now)
        )
        live = WebhookEndpoint(url="https://hooks.example/a", secrets_ciphertext="x")
        gone = WebhookEndpoint(
            url="https://hooks.example/b", secrets_ciphertext="x", status="disabled"
        )
        event = OutboxEvent(type="journey.started", data={}, occurred_at=now)
        db.session.add_all([live, gone, event])
        for state in ("pending", "pending", "failed", "succeeded"):
            delivery = WebhookDelivery(event=event, endpoint=live, status=state)
            db.session.add(delivery)
            if state == "failed":
                db.session.add(WebhookAttempt(delivery=delivery, status_code=500))
        db.session.commit()
    make_user(app, "viewer", "someone@example.com")
    app.test_client().post(
        "/admin/login", data={"email": "someone@example.com", "password": "not " + PASSWORD}
    )


def _figures(page: str) -> dict[str, tuple[str, str | None]]:
    """Each figure of the overview: its number and where it links."""
    rows = re.findall(
        r'<th scope="row">([^<]+)</th><td class="numeric">(?:<a href="([^"]+)">)?([^<]+)', page
    )
    return {label: (number, unescape(href) or None) for label, href, number in rows}


def _rows(page: str, region: str) -> int:
    found = re.search(rf'aria-label="{region}".*?<tbody>(.*?)</tbody>', page, re.S)
    return 0 if found is None else found.group(1).count("<tr>")


LISTS = {
    "/admin/customers": "Customers found",
    "/admin/webhooks?endpoints": "Webhook endpoints",
    "/admin/webhooks": "Webhook deliveries",
    "/admin/audit": "Audit entries",
}


def test_every_overview_number_links_to_a_list_of_that_many_rows(
    app: Flask, overview_seed: None
) -> None:
    admin = signed_in_as(app, "admin")
    figures = _figures(admin.get("/admin/").text)
    expected = {
        "Stuck: no progress for more than 24 h": "2",
        "Waiting on someone they asked": "1",
        "With a connection needing repair": "1",
        "Started a journey today (UTC)": "2",
        "Completed a journey today (UTC)": "1",
        "Webhook deliveries waiting": "2",
        "Webhook deliveries with a failed attempt, last hour": "1",
        "Disabled webhook endpoints": "1",
        "Customers whose connection failed, last hour": "1",
        "Failed admin sign-ins today (UTC)": "1",
    }
    assert {label: figures[label][0] for label in expected} == expected
    for label, (number, href) in figures.items():
        assert href is not None, f"{label} links nowhere"
        if label == "Oldest waiting delivery":
            continue  # an age, not a count: it leads to the waiting deliveries
        region = next(name for prefix, name in LISTS.items() if href.startswith(prefix))
        listed = admin.get(href)
        assert listed.status_code == 200, href
        assert _rows(listed.text, region) == int(number), f"{label}: {href}"


def test_the_customers_list_says_which_state_it_shows_and_how_to_clear_it(
    app: Flask, overview_seed: None
) -> None:
    page = unescape(signed_in_as(app, "viewer").get("/admin/customers?state=stuck").text)
    assert '<h2 id="state-heading">Customers stuck for more than 24 h</h2>' in page
    assert re.findall(r'<a href="/admin/customers/[0-9a-f-]{36}">([^<]+)</a>', page) == [
        "Stuck 1",
        "Stuck 0",
    ]
    assert '<a href="/admin/customers">Show all customers</a>' in page


def test_a_colleague_without_the_audit_log_sees_the_failed_sign_ins_without_a_link(
    app: Flask, overview_seed: None
) -> None:
    figures = _figures(signed_in_as(app, "support").get("/admin/").text)
    assert figures["Failed admin sign-ins today (UTC)"] == ("1", None)
    assert figures["Stuck: no progress for more than 24 h"][1] == "/admin/customers?state=stuck"


def test_the_stuck_threshold_is_a_setting(app: Flask, overview_seed: None) -> None:
    app.config["CUSTOMER_STUCK_AFTER_SECONDS"] = 3 * 24 * 60 * 60
    figures = _figures(signed_in_as(app, "viewer").get("/admin/").text)
    assert figures["Stuck: no progress for more than 3 d"][0] == "0"


def test_the_state_filter_is_kept_by_the_pager(app: Flask) -> None:
    with app.app_context():
        for n in range(PAGE_SIZE + 2):
            _run(_customer(f"Shop {n:03}"), timedelta(days=2))
        _customer("Nobody")
        db.session.commit()
    viewer = signed_in_as(app, "viewer")
    first = viewer.get("/admin/customers?state=stuck").text
    older = re.search(r'href="([^"]+)" rel="next"', first)
    assert older is not None and "state=stuck" in unescape(older.group(1))
    second = unescape(viewer.get(unescape(older.group(1))).text)
    assert re.findall(r'<a href="/admin/customers/[0-9a-f-]{36}">([^<]+)</a>', second) == [
        "Shop 001",
        "Shop 000",
    ]


@pytest.mark.parametrize("query", ["state=lost", "state=STUCK", "state=stuck%0A"])
def test_an_unknown_state_is_refused_with_400_and_says_which_exist(app: Flask, query: str) -> None:
    response = signed_in_as(app, "viewer").get(f"/admin/customers?{query}")
    assert response.status_code == 400
    assert "Choose one of the states listed: stuck, waiting, needs-repair" in response.text


@pytest.mark.parametrize("query", ["failed=day", "endpoints=gone", "status=lost"])
def test_an_unknown_webhook_filter_is_refused_with_400(app: Flask, query: str) -> None:
    response = signed_in_as(app, "viewer").get(f"/admin/webhooks?{query}")
    assert response.status_code == 400
    assert "There is a problem" in response.text


def test_with_mail_the_summary_and_reconnect_buttons_email_the_link(app: Flask) -> None:
    """Send, don't copy: where mail is configured, the next action emails the customer."""

    def seed(customer: Customer) -> None:
        run = _run(customer, status="completed", current_step="done", completed_at=clock.now())
        _connection(customer, run, "deauthorized", org_id="org-1", org_name="Acme Trading Ltd")

    with app.app_context():
        customer = _customer()
        seed(customer)
        db.session.commit()
        public_id, address = customer.public_id, customer.email
    support = signed_in_as(app, "support")
    with smtp_sink() as (sink, settings):
        app.config.update(settings)
        page = unescape(support.get(f"/admin/customers/{public_id}").text)
        glance = page[page.index('id="summary-title"') : page.index('id="timeline"')]
        form = re.search(r'<form method="post" action="([^"]+)">(.*?)</form>', glance, re.S)
        assert form is not None and "/reconnect-link" in form.group(1)
        assert 'name="send_email" value="y"' in form.group(2)
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.group(2))
        assert csrf is not None
        sent = support.post(form.group(1), data={"csrf_token": csrf.group(1), "send_email": "y"})
        assert sent.status_code == 303
        shown = unescape(support.get(sent.location).text)
        assert f"Link emailed to {address}." in shown
        assert 'id="new-link"' not in shown
        with app.app_context():
            mail.send_due()
        [message] = sink.to(address)
    assert "/j/" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]

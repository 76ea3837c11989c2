"""The customer at a glance, in a browser: the overview's figures lead to the customers
behind them, the customer's page says where they stand and what to do next, and the
timeline folds its noise away; accessible on a desktop and 390 px wide."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, expect

from e2e.accessibility import assert_accessible, assert_no_horizontal_scroll
from e2e.admin import CustomerPage, CustomersPage, OverviewPage
from e2e.live import LiveServer

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def _stuck_customer(live_server: LiveServer) -> str:
    """A customer whose default journey stopped at the connect step two days ago, after
    three refusals and a few webhook events nobody subscribed to."""
    from app import clock
    from app.customers.records import create_customer
    from app.engine.registry import get_journey
    from app.extensions import db
    from app.models import JourneyEvent, JourneyRun, OutboxEvent

    name = f"Quayside Florist {uuid.uuid4().hex[:8]}"
    with live_server.app.app_context():
        journey = get_journey("default")
        assert journey is not None
        customer = create_customer(name, "owner@florist.example")
        db.session.flush()
        then = clock.now() - timedelta(days=2)
        run = JourneyRun(
            customer_id=customer.id,
            journey_id="default",
            journey_version=journey.version,
            current_step="connect",
            created_at=then,
            updated_at=then,
        )
        db.session.add(run)
        db.session.flush()
        for _ in range(3):
            db.session.add(
                JourneyEvent(
                    run_id=run.id,
                    step="connect",
                    kind="failed",
                    detail="access_denied",
                    occurred_at=then,
                )
            )
            db.session.add(
                OutboxEvent(
                    type="journey.step_completed",
                    data={"run_id": run.public_id},
                    customer_id=customer.id,
                    occurred_at=then,
                )
            )
        db.session.commit()
    return name


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "390px"])
def test_from_the_overview_to_a_stuck_customer_and_their_fresh_link(
    new_context: Callable[..., BrowserContext],
    admin_sessions: Callable[[str], dict[str, Any]],
    live_server: LiveServer,
    viewport: dict[str, int],
) -> None:
    def check() -> None:
        assert_accessible(page)
        assert_no_horizontal_scroll(page)

    name = _stuck_customer(live_server)
    page = new_context(storage_state=admin_sessions("support"), viewport=viewport).new_page()
    page.goto(f"{live_server.url}/admin/")
    overview = OverviewPage(page)
    expect(overview.customer_figures).to_be_visible()
    check()

    overview.figure("Stuck: no progress for more than 24 h").click()
    stuck = CustomersPage(page)
    expect(
        stuck.main.get_by_role("heading", name="Customers stuck for more than 24 h")
    ).to_be_visible()
    expect(stuck.main.get_by_role("link", name="Show all customers")).to_be_visible()
    check()

    customer = stuck.open(name)
    expect(customer.summary).to_contain_text(re.compile(r"Waiting on\s*the customer"))
    expect(customer.summary).to_contain_text(
        "stopped at “Connect your accounting software” 2 days ago"
    )
    expect(customer.summary).to_contain_text("Send a fresh link: they have not moved for 2 days.")
    # The refusal once under its step; its repeats and the webhook events folded away.
    connect = customer.timeline.get_by_role("heading", name="“Connect your accounting software”")
    expect(connect).to_be_visible()
    expect(
        customer.timeline_entries.filter(has_text="Could not go on: access_denied")
    ).to_have_count(1)
    check()
    customer.show_technical_details()
    expect(
        customer.timeline_entries.filter(has_text="Could not go on: access_denied")
    ).to_have_count(3)
    expect(
        customer.timeline_entries.filter(has_text="No webhook endpoint subscribed.")
    ).to_have_count(3)
    check()

    customer.summary.get_by_role("button", name="Send a new link", exact=True).click()
    sent = CustomerPage(page, name)
    expect(sent.main.get_by_role("status")).to_contain_text("Journey link created")
    expect(sent.new_link).to_have_value(re.compile(r"^http"))
    check()

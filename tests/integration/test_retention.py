"""Retention on a fake clock: abandoned runs of a journey with
``retention.abandoned_runs_days`` (journeys/business.yaml: 30) are purged once that long
has passed; the consent ledger keeps what it refers to and still verifies."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from app import clock
from app.consent import chain
from app.customers.records import create_customer
from app.engine.idle import mark_abandoned
from app.engine.retention import PURGED, purge_abandoned
from app.extensions import db
from app.links import journey_link
from app.models import AuditEntry, Connection, ConsentRecord, JourneyEvent, JourneyRun, OAuthFlow
from tests.integration.conftest import LiveSandbox

DETAILS = {
    "company_name": "Bluebell Bakery Ltd",
    "company_type": "limited",
    "contact_email": "owner@bluebell.example",
    "employees": "12",
    "turnover": "100k_1m",
    "vat_registered": "y",
}
RETENTION = timedelta(days=30)


def _open(app: Flask, journey: str, name: str) -> FlaskClient:
    with app.app_context():
        customer = create_customer(name, "owner@example.com")
        link = journey_link(customer.public_id, journey)
    client = app.test_client()
    client.get(link.removeprefix("http://localhost"))
    return client


def _abandon_all(app: Flask) -> None:
    """Every run has sat idle for two days: the worker marks them abandoned now."""
    with app.app_context():
        past = clock.now() - timedelta(days=2)
        db.session.execute(update(JourneyRun).values(updated_at=past))
        db.session.execute(update(JourneyEvent).values(occurred_at=past))
        db.session.commit()
        mark_abandoned()


def _count(model: type, *where: object) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_a_run_without_consent_is_deleted_after_the_period_and_not_before(app: Flask) -> None:
    _open(app, "business", "Welcome Only Ltd")
    _abandon_all(app)
    with app.app_context():
        now = clock.now()
        assert purge_abandoned(now + RETENTION - timedelta(hours=1)) == {"deleted": 0, "kept": 0}
        assert _count(JourneyRun) == 1
        assert purge_abandoned(now + RETENTION + timedelta(hours=1)) == {"deleted": 1, "kept": 0}
        assert _count(JourneyRun) == 0
        assert _count(JourneyEvent) == 0
        [entry] = db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "runs.purge_abandoned")
        ).all()
        assert entry.after == {"deleted": 1, "kept": 0}
        # Nothing left to do: running again (another worker) purges nothing.
        assert purge_abandoned(now + RETENTION + timedelta(days=1)) == {"deleted": 0, "kept": 0}


def test_a_run_the_ledger_refers_to_is_emptied_and_kept(
    app: Flask, live_sandbox: LiveSandbox
) -> None:
    app.config["SANDBOX_URL"] = live_sandbox.url
    client = _open(app, "business", "Bluebell Bakery Ltd")
    client.post("/journey/welcome")
    client.post("/journey/consent", data={"consent_accounts": "y", "agree": "Agree and continue"})
    client.post("/journey/details", data=DETAILS)
    client.post("/journey/company", data={"registration_number": "12345678"})
    client.post("/journey/software", data={"platform": "sandbox"})
    client.post("/journey/review")
    client.post("/journey/instructions")
    # Sent to the platform, the customer never came back: a pending connection and flow.
    assert client.post("/journey/connect").status_code in (302, 303)
    _abandon_all(app)
    with app.app_context():
        run = db.session.scalars(select(JourneyRun)).one()
        assert run.answers and _count(JourneyEvent) and _count(OAuthFlow) == 1
        records = _count(ConsentRecord)

        counts = purge_abandoned(clock.now() + RETENTION + timedelta(hours=1))
        assert counts == {"deleted": 0, "kept": 1}
        db.session.expire_all()
        run = db.session.scalars(select(JourneyRun)).one()
        assert (run.status, run.answers, run.completed_steps) == (PURGED, {}, [])
        assert run.current_step == "welcome"
        assert _count(JourneyEvent) == _count(OAuthFlow) == _count(Connection) == 0
        # The ledger is untouched and still proves itself.
        assert _count(ConsentRecord) == records
        assert chain.verify().ok


def test_journeys_without_a_retention_period_keep_their_runs(app: Flask) -> None:
    _open(app, "default", "Keep Me Ltd")  # journeys/default.yaml sets no retention
    _abandon_all(app)
    with app.app_context():
        assert purge_abandoned(clock.now() + timedelta(days=3650)) == {"deleted": 0, "kept": 0}
        assert _count(JourneyRun) == 1


def test_flask_journeys_purge_abandoned(app: Flask) -> None:
    _open(app, "business", "Left Ltd")
    _abandon_all(app)
    with app.app_context():
        past = clock.now() - RETENTION - timedelta(days=1)
        db.session.execute(update(JourneyRun).values(abandoned_at=past))
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["journeys", "purge-abandoned"])
    assert result.exit_code == 0, result.output
    assert "1 abandoned run(s) deleted, 0 emptied and kept" in result.output

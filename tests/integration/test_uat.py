"""`flask uat key`, `flask uat admin` and `flask uat reset`: the server side of the UAT
suite.

The data is made as the suite makes it: through the API with the UAT key, customers
namespaced ``uat-<run>-...``. Older runs are then aged by moving created_at back.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from app import clock
from app.extensions import db
from app.models import AuditEntry, ConsentRecord, Customer, WebhookEndpoint
from tests.admin import make_user, sign_in
from tests.integration.api_helpers import Api
from tests.integration.conftest import REQUIRED_CONSENTS

OLD_RUN = ("uat-run1-alice", "uat-run1-bob")
NEW_RUN = ("uat-run2-carol",)
NOT_UAT = ("crm-4711", "uatx-not-namespaced")


def uat_key(app: Flask) -> str:
    """The key `flask uat key` prints, read back from its export line."""
    result = app.test_cli_runner().invoke(args=["uat", "key"])
    assert result.exit_code == 0, result.output
    name, _, key = result.stdout.strip().partition("=")
    assert name == "ONRAMP_UAT_API_KEY"
    return key


def reset(app: Flask, *args: str) -> str:
    result = app.test_cli_runner().invoke(args=["uat", "reset", *args])
    assert result.exit_code == 0, result.output
    return result.output


def put_customer(api: Api, external_id: str) -> None:
    created = api.put(
        f"/api/v1/customers/{external_id}",
        json={"name": f"{external_id} Ltd", "email": f"{external_id}@uat.example"},
        headers={"Idempotency-Key": f"create-{external_id}"},
    )
    assert created.status_code == 201, created.get_json()


def add_endpoint(api: Api, description: str) -> None:
    added = api.post(
        "/api/v1/webhook-endpoints",
        json={"url": "http://127.0.0.1:9/uat-hooks", "description": description},
        headers={"Idempotency-Key": f"hook-{description}"},
    )
    assert added.status_code == 201, added.get_json()


def consent_through_the_journey(app: Flask, api: Api, external_id: str) -> None:
    """The customer opens their link and agrees, so consent records exist for them."""
    link = api.post(
        f"/api/v1/customers/{external_id}/links",
        json={},
        headers={"Idempotency-Key": f"link-{external_id}"},
    ).get_json()["url"]
    browser = app.test_client()
    browser.get(link.removeprefix("http://localhost"))
    browser.post("/journey/welcome")
    assert browser.post("/journey/consent", data=REQUIRED_CONSENTS).status_code in (302, 303)


def age(app: Flask, model: type, days: int, *where: object) -> None:
    with app.app_context():
        db.session.execute(
            update(model).where(*where).values(created_at=clock.now() - timedelta(days=days))
        )
        db.session.commit()


@pytest.fixture
def seeded(app: Flask, client: FlaskClient) -> Api:
    """Two UAT runs (one two days old), and customers and an endpoint that are not UAT's."""
    api = Api(client, uat_key(app))
    for external_id in OLD_RUN + NEW_RUN + NOT_UAT:
        put_customer(api, external_id)
    consent_through_the_journey(app, api, OLD_RUN[0])
    for description in ("uat run1 receiver", "UAT run2 receiver", "production CRM"):
        add_endpoint(api, description)
    age(app, Customer, 2, Customer.external_id.in_(OLD_RUN + NOT_UAT))
    age(app, WebhookEndpoint, 2, WebhookEndpoint.description != "UAT run2 receiver")
    return api


def external_ids(app: Flask) -> set[str]:
    with app.app_context():
        return {c.external_id for c in db.session.scalars(select(Customer)) if c.external_id}


def live_endpoints(app: Flask) -> set[str]:
    with app.app_context():
        rows = db.session.scalars(
            select(WebhookEndpoint).where(WebhookEndpoint.status == "enabled")
        )
        return {endpoint.description or "" for endpoint in rows}


def test_uat_key_prints_a_key_that_reads_and_writes_customers(
    app: Flask, client: FlaskClient
) -> None:
    api = Api(client, uat_key(app))
    put_customer(api, "uat-key-check")
    read = api.get("/api/v1/customers/uat-key-check")
    assert read.status_code == 200
    assert read.get_json()["external_id"] == "uat-key-check"
    # And credentials: the suite plays the data pipeline for "a refresh that later fails".
    listed = app.test_cli_runner().invoke(args=["api-keys", "list"])
    assert "read write credentials files" in listed.output and " uat" in listed.output


def uat_admin(app: Flask, *args: str) -> tuple[str, str]:
    result = app.test_cli_runner().invoke(args=["uat", "admin", *args])
    assert result.exit_code == 0, result.output
    lines = dict(line.partition("=")[::2] for line in result.stdout.strip().splitlines())
    return lines["ONRAMP_UAT_ADMIN_EMAIL"], lines["ONRAMP_UAT_ADMIN_PASSWORD"]


def test_uat_admin_prints_a_viewer_login_and_renews_it(app: Flask) -> None:
    email, password = uat_admin(app)
    assert email == "uat-tester@example.com"
    console = app.test_client()
    sign_in(console, email, password)
    assert console.get("/admin/journeys").status_code == 200
    assert console.get("/admin/api-keys").status_code == 403  # read only

    # Run again (another tester, a lost password): the same account, a new password.
    again, renewed = uat_admin(app)
    assert again == email and renewed != password
    assert (
        app.test_client()
        .post("/admin/login", data={"email": email, "password": password})
        .status_code
        == 200
    )  # the old password no longer signs in
    sign_in(app.test_client(), email, renewed)
    with app.app_context():
        actions = db.session.scalars(
            select(AuditEntry.action).where(AuditEntry.actor_id == "flask uat admin")
        ).all()
    assert actions == ["user.create", "user.password_reset"]


def test_uat_admin_prints_a_support_login_for_the_fresh_link_scenario(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["uat", "admin", "--role", "support"])
    assert result.exit_code == 0, result.output
    lines = dict(line.partition("=")[::2] for line in result.stdout.strip().splitlines())
    email, password = lines["ONRAMP_UAT_SUPPORT_EMAIL"], lines["ONRAMP_UAT_SUPPORT_PASSWORD"]
    assert email == "uat-support@example.com"
    console = app.test_client()
    sign_in(console, email, password)
    assert console.get("/admin/customers").status_code == 200
    assert console.get("/admin/api-keys").status_code == 403  # support, no more
    # The viewer login is another account: one role never turns into the other.
    refused = app.test_cli_runner().invoke(args=["uat", "admin", "--email", email])
    assert "not a viewer: choose another --email" in refused.output


def test_uat_admin_never_takes_over_a_colleagues_account(app: Flask) -> None:
    admin = make_user(app, "admin")
    result = app.test_cli_runner().invoke(args=["uat", "admin", "--email", admin])
    assert result.exit_code != 0
    assert "not a viewer: choose another --email" in result.output
    refused = app.test_cli_runner().invoke(args=["uat", "admin", "--email", "not an address"])
    assert refused.exit_code == 2 and "--email" in refused.output


def test_uat_key_takes_a_name(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["uat", "key", "--name", "uat staging"])
    assert result.exit_code == 0, result.output
    assert "uat staging" in app.test_cli_runner().invoke(args=["api-keys", "list"]).output


def test_reset_erases_only_old_uat_customers_and_the_ledger_still_verifies(
    app: Flask, seeded: Api
) -> None:
    with app.app_context():
        records_before = db.session.scalar(select(func.count(ConsentRecord.id)))
    assert records_before

    output = reset(app, "--older-than", "1d")

    assert "Erased 2 customer(s) and removed 1 webhook endpoint(s)" in output
    assert external_ids(app) == set(NEW_RUN + NOT_UAT)
    with app.app_context():
        erased = db.session.scalars(select(Customer).where(Customer.erased_at.is_not(None)))
        assert len(list(erased)) == 2
        # Consent records are never deleted: erasure makes their personal part unreadable.
        assert db.session.scalar(select(func.count(ConsentRecord.id))) == records_before
    assert app.test_cli_runner().invoke(args=["consents", "verify"]).exit_code == 0
    # The erased customer is gone from the API as far as the suite can tell.
    assert seeded.get(f"/api/v1/customers/{OLD_RUN[0]}").status_code == 404


def test_reset_removes_old_uat_webhook_endpoints_only(app: Flask, seeded: Api) -> None:
    reset(app, "--older-than", "1d")
    assert live_endpoints(app) == {"UAT run2 receiver", "production CRM"}
    with app.app_context():
        removed = db.session.scalars(
            select(WebhookEndpoint).where(WebhookEndpoint.description == "uat run1 receiver")
        ).one()
        assert (removed.status, removed.disabled_reason) == ("disabled", "removed")


def test_a_shorter_age_reaches_newer_runs(app: Flask, seeded: Api) -> None:
    with app.app_context():
        db.session.execute(
            update(Customer)
            .where(Customer.external_id.in_(NEW_RUN))
            .values(created_at=clock.now() - timedelta(minutes=45))
        )
        db.session.commit()
    reset(app, "--older-than", "30m")
    assert external_ids(app) == set(NOT_UAT)


def test_dry_run_lists_what_would_go_and_changes_nothing(app: Flask, seeded: Api) -> None:
    output = reset(app, "--older-than", "1d", "--dry-run")

    assert "Dry run: would erase 2 customer(s) and remove 1 webhook endpoint(s)" in output
    for external_id in OLD_RUN:
        assert external_id in output
    assert "uat run1 receiver" in output
    for kept in NEW_RUN + NOT_UAT + ("UAT run2 receiver", "production CRM"):
        assert kept not in output
    assert external_ids(app) == set(OLD_RUN + NEW_RUN + NOT_UAT)
    assert len(live_endpoints(app)) == 3
    with app.app_context():
        assert not db.session.scalars(select(AuditEntry).filter_by(action="uat.reset")).all()


def test_reset_is_idempotent_and_audits_one_summary(app: Flask, seeded: Api) -> None:
    reset(app, "--older-than", "1d")
    again = reset(app, "--older-than", "1d")

    assert "Erased 0 customer(s) and removed 0 webhook endpoint(s)" in again
    with app.app_context():
        summaries = db.session.scalars(select(AuditEntry).filter_by(action="uat.reset")).all()
        erasures = db.session.scalars(select(AuditEntry).filter_by(action="customer.erase")).all()
    assert len(summaries) == 1
    assert (summaries[0].actor_type, summaries[0].actor_id) == ("cli", "flask uat reset")
    assert summaries[0].after == {
        "older_than": "1d",
        "customers_erased": 2,
        "endpoints_removed": 1,
        "deliveries_cancelled": 0,
    }
    assert len(erasures) == 2


@pytest.mark.parametrize("older_than", ["", "1", "1y", "0d", "-1d", "one day", "1.5d"])
def test_reset_refuses_an_age_it_cannot_read(app: Flask, seeded: Api, older_than: str) -> None:
    result = app.test_cli_runner().invoke(args=["uat", "reset", "--older-than", older_than])
    assert result.exit_code == 2
    assert "--older-than" in result.output
    assert external_ids(app) == set(OLD_RUN + NEW_RUN + NOT_UAT)


def test_reset_needs_an_age(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["uat", "reset"])
    assert result.exit_code == 2
    assert "Missing option '--older-than'" in result.output

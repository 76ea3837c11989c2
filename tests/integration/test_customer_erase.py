"""`flask customers erase`: a real customer's journey through the Sandbox, with notes, API
calls and webhooks, erased; then no table holds anything personal about them, not even
inside what the master key can decrypt, and the consent ledger still verifies."""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.admin.customers_service import add_note
from app.connections import lifecycle
from app.consent import personal
from app.customers.records import ERASED_NAME, find_by_public_id
from app.extensions import db
from app.models import Connection, ConsentRecord, Customer, JourneyRun, User
from app.sandbox.data import ORGANISATIONS
from app.vault import VaultError, decrypt_json, decrypt_text
from tests.admin import make_user
from tests.integration.api_helpers import Api, create_key
from tests.integration.conftest import ALL_CONSENTS, LiveSandbox

EXTERNAL_ID = "crm-erin-4711"
NAME = "Erin Example Trading"
EMAIL = "erin.example@erin-trading.example"
IP_ADDRESS = "203.0.113.77"
USER_AGENT = "ErinsBrowser/9.1 (unique-agent-for-erasure)"
ORGANISATION = ORGANISATIONS[1].name
PERSONAL = (NAME, EMAIL, EXTERNAL_ID, IP_ADDRESS, USER_AGENT, ORGANISATION)


@pytest.fixture
def journeyed(app: Flask, client: FlaskClient, live_sandbox: LiveSandbox) -> str:
    """Erin's whole story: created and linked by the business's backend, through the
    journey to a linked Sandbox organisation, with a note and a webhook endpoint.
    Returns her Onramp id."""
    app.config["SANDBOX_URL"] = live_sandbox.url
    api = Api(client, create_key(app, "read", "write"))
    api.post(
        "/api/v1/webhook-endpoints",
        json={"url": "https://crm.example/hooks"},
        headers={"Idempotency-Key": "hook-1"},
    )
    created = api.put(
        f"/api/v1/customers/{EXTERNAL_ID}",
        json={"name": NAME, "email": EMAIL},
        headers={"Idempotency-Key": "create-erin"},
    )
    assert created.status_code == 201, created.get_json()
    link = api.post(
        f"/api/v1/customers/{EXTERNAL_ID}/links", json={}, headers={"Idempotency-Key": "link-1"}
    ).get_json()["url"]

    browser = app.test_client()
    browser.environ_base.update(REMOTE_ADDR=IP_ADDRESS, HTTP_USER_AGENT=USER_AGENT)
    browser.get(link.removeprefix("http://localhost"))
    browser.post("/journey/welcome")
    browser.post("/journey/consent", data=ALL_CONSENTS)
    browser.post("/journey/software", data={"platform": "sandbox"})
    start = browser.post("/journey/connect")
    callback = live_sandbox.authorize(str(start.location), organisation=1)
    browser.get(callback.removeprefix("http://localhost"))

    author = make_user(app, "admin")
    with app.app_context():
        customer = db.session.scalars(select(Customer)).one()
        user = db.session.scalars(select(User).where(User.email == author)).one()
        add_note(customer, f"Called {NAME} on {EMAIL} about {ORGANISATION}.", user.id, author)
        # What a journey's form step keeps (the default journey has none).
        run = db.session.scalars(select(JourneyRun)).one()
        run.answers = {"details": {"trading_name": NAME, "contact": EMAIL}}
        db.session.commit()
        connection = db.session.scalars(select(Connection)).one()
        assert connection.status == "linked" and connection.org_name == ORGANISATION
        return str(customer.public_id)


def _opened(text: str, customer: Customer) -> list[str]:
    """What the master key, or the customer's own key while it exists, makes of ``text``."""
    opened = []
    for opener in (decrypt_text, lambda t: personal.decrypt_text_for(customer, t)):
        with contextlib.suppress(VaultError, personal.KeyDestroyed, ValueError, TypeError):
            opened.append(opener(text))
    return opened


def _everything(app: Flask) -> list[tuple[str, str, str]]:
    """Every text and JSON value of every table as (table, column, text), and beside each
    ciphertext what the keys make of it (ciphertexts inside JSON included)."""
    found = []
    with app.app_context():
        customer = db.session.scalars(select(Customer)).one()
        for table in db.metadata.sorted_tables:
            for row in db.session.execute(table.select()).mappings():
                for column, value in row.items():
                    if isinstance(value, dict | list):
                        value = json.dumps(value, ensure_ascii=False)
                    if not isinstance(value, str):
                        continue
                    found.append((table.name, column, value))
                    for token in re.findall(r"gAAAAA[\w=-]+", value):
                        found += [(table.name, column, text) for text in _opened(token, customer)]
    return found


def _leaks(app: Flask) -> list[tuple[str, str, str]]:
    return [
        (table, column, value)
        for table, column, text in _everything(app)
        for value in PERSONAL
        if value in text
    ]


def _erase(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=["customers", "erase", *args])


def test_erasure_leaves_no_personal_data_and_a_chain_that_verifies(
    app: Flask, journeyed: str, live_sandbox: LiveSandbox
) -> None:
    # Before: the personal data is there to be found (the check can see it).
    before = {value for _, _, value in _leaks(app)}
    assert before == set(PERSONAL)
    with app.app_context():
        connection = db.session.scalars(select(Connection)).one()
        token = decrypt_json(connection.token_ciphertext or "")

    result = _erase(app, EXTERNAL_ID, "--yes")
    assert result.exit_code == 0, result.output
    assert "1 connection(s) disconnected, 1 note(s) deleted" in result.output

    assert _leaks(app) == []
    # The platform no longer honours the tokens.
    answer = requests.get(
        f"{live_sandbox.url}/api/organisation",
        headers={"Authorization": f"Bearer {token['access_token']}"},
        timeout=10,
    )
    assert answer.status_code == 401
    verified = app.test_cli_runner().invoke(args=["consents", "verify"])
    assert verified.exit_code == 0, verified.output

    with app.app_context():
        customer = find_by_public_id(journeyed)
        assert customer is not None and customer.erased_at is not None
        assert (customer.name, customer.external_id) == (ERASED_NAME, None)
        connection = db.session.scalars(select(Connection)).one()
        assert connection.status == "disconnected" and connection.token_ciphertext is None
        # The ledger is intact; what it kept about Erin can no longer be read.
        records = db.session.scalars(select(ConsentRecord)).all()
        assert records and any(r.personal_ciphertext for r in records)
        assert all(personal.decrypt_for(customer, r.personal_ciphertext) is None for r in records)

    exported = app.test_cli_runner().invoke(args=["customers", "export", journeyed])
    assert exported.exit_code == 0, exported.output
    document = json.loads(exported.stdout)
    assert document["customer"]["erased_at"]
    assert document["customer"]["name"] == ERASED_NAME
    assert document["consent_records"]
    assert not any(value in exported.stdout for value in PERSONAL)


def test_erasing_asks_first_refuses_unknown_ids_and_is_harmless_twice(
    app: Flask, journeyed: str
) -> None:
    declined = app.test_cli_runner().invoke(args=["customers", "erase", EXTERNAL_ID], input="n\n")
    assert declined.exit_code == 1
    with app.app_context():
        assert db.session.scalars(select(Customer)).one().erased_at is None

    unknown = _erase(app, "crm-nobody", "--yes")
    assert unknown.exit_code == 1
    assert "No customer with external id 'crm-nobody'" in unknown.output

    assert _erase(app, EXTERNAL_ID, "--yes").exit_code == 0
    # The external id is gone with the rest: it is no longer recognised...
    assert "No customer with external id" in _erase(app, EXTERNAL_ID, "--yes").output
    # ...and erasing again by the Onramp id changes nothing.
    again = _erase(app, journeyed, "--yes")
    assert again.exit_code == 0, again.output
    assert "already erased" in again.output
    assert _leaks(app) == []
    assert app.test_cli_runner().invoke(args=["consents", "verify"]).exit_code == 0


def test_rotating_the_master_key_re_encrypts_customers_data_keys(
    app: Flask, journeyed: str
) -> None:
    new_key = "Q1Jxb0pJbE1yS2d5bU9uZ0Y3dGx2U2JQb2JkR1pQZ0E="
    with app.app_context():
        customer = db.session.scalars(select(Customer)).one()
        before = customer.data_key_ciphertext
        record = db.session.scalars(
            select(ConsentRecord).where(ConsentRecord.personal_ciphertext.is_not(None))
        ).first()
        assert before is not None and record is not None
        details = personal.decrypt_for(customer, record.personal_ciphertext)
        assert details is not None and details["email"] == EMAIL

    app.config["TOKEN_ENCRYPTION_KEY"] = f"{new_key},{app.config['TOKEN_ENCRYPTION_KEY']}"
    with app.app_context():
        assert lifecycle.rotate_encryption_key() >= 2  # the token and the data key
    app.config["TOKEN_ENCRYPTION_KEY"] = new_key  # the old key is retired
    with app.app_context():
        customer = db.session.scalars(select(Customer)).one()
        assert customer.data_key_ciphertext not in (None, before)
        record = db.session.get(ConsentRecord, record.id)
        assert record is not None
        assert personal.decrypt_for(customer, record.personal_ciphertext) == details

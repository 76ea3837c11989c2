"""The JSON API driven as the business's backend drives it: from a key made with the CLI
to a linked connection (through the real journey and the live Sandbox), then reading,
paging, getting credentials, withdrawing and disconnecting."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from app import clock
from app.extensions import db
from app.links import read_token
from app.models import ApiKey, AuditEntry, Connection, Customer, JourneyRun
from app.sandbox.data import ORGANISATIONS
from app.vault import decrypt_json
from tests.integration.api_helpers import (
    RETURN_URL,
    Api,
    allow_return_url,
    create_key,
    fields,
    problem,
)
from tests.integration.conftest import ALL_CONSENTS, LiveSandbox

CUSTOMER = "/api/v1/customers/crm-42"


@pytest.fixture
def backend(app: Flask, client: FlaskClient) -> Api:
    return Api(client, create_key(app, "read", "write"))


@pytest.fixture
def pipeline(app: Flask, client: FlaskClient) -> Api:
    return Api(client, create_key(app, "credentials", name="data pipeline"))


def _through_the_journey(
    app: Flask, url: str, live_sandbox: LiveSandbox, consents: dict[str, str]
) -> None:
    """The customer opens the link, consents, picks the Sandbox and approves there."""
    app.config["SANDBOX_URL"] = live_sandbox.url
    browser = app.test_client()
    parts = urlsplit(url)
    assert browser.get(parts.path).status_code in (200, 302, 303)
    browser.post("/journey/welcome")
    browser.post("/journey/consent", data=consents)
    browser.post("/journey/software", data={"platform": "sandbox"})
    start = browser.post("/journey/connect")
    callback = live_sandbox.authorize(str(start.location), "approve", organisation=1)
    done = browser.get(callback.removeprefix("http://localhost"))
    assert done.location.endswith("/journey/done")


def _tokens(app: Flask) -> dict[str, str]:
    with app.app_context():
        connection = db.session.scalars(select(Connection)).one()
        return decrypt_json(connection.token_ciphertext or "")


def _audit(app: Flask) -> list[AuditEntry]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def _sandbox_organisation(live_sandbox: LiveSandbox, access_token: str) -> int:
    response = requests.get(
        f"{live_sandbox.url}/api/organisation",
        headers={"Authorization": f"Bearer {access_token}"},
        timeout=10,
    )
    return response.status_code


def test_from_a_new_key_to_a_linked_connection_and_back(
    app: Flask, backend: Api, pipeline: Api, live_sandbox: LiveSandbox
) -> None:
    allow_return_url(app)
    bodies: list[str] = []

    def seen(response):  # type: ignore[no-untyped-def]
        bodies.append(response.get_data(as_text=True))
        return response

    created = seen(backend.put(CUSTOMER, json={"name": "Acme Ltd", "email": "Owner@Acme.example"}))
    assert created.status_code == 201
    assert created.get_json()["email"] == "owner@acme.example"
    link = seen(
        backend.post(
            CUSTOMER + "/links",
            json={"locale": "fr", "return_url": RETURN_URL + "?ref=42", "expires_in": 3600},
        )
    )
    assert link.status_code == 201
    with app.app_context():
        claims = read_token(link.get_json()["url"].rsplit("/", 1)[1])
    assert (claims.journey_id, claims.locale, claims.return_url) == (
        "default",
        "fr",
        RETURN_URL + "?ref=42",
    )

    _through_the_journey(app, link.get_json()["url"], live_sandbox, ALL_CONSENTS)

    customer = seen(backend.get(CUSTOMER)).get_json()
    [run] = customer["runs"]
    assert (run["journey_id"], run["status"], run["locale"]) == ("default", "completed", "fr")
    grants = [c for c in customer["consents"] if c["decision"] == "granted"]
    assert sorted(c["item"] for c in grants) == [
        "financial_statements",
        "invoices_bills",
        "ongoing_monitoring",
    ]
    [connection] = customer["connections"]
    # Once linked, the ledger notes on each grant the connection it covers.
    scoped = [c for c in customer["consents"] if c["decision"] == "scoped"]
    assert sorted(c["refers_to"] for c in scoped) == sorted(c["id"] for c in grants)
    for note in scoped:
        [covered] = note["scope"]["connections"]
        assert covered["connection_id"] == connection["id"]
        assert covered["organisation_id"] == ORGANISATIONS[1].id
        assert covered["organisation_name"] == ORGANISATIONS[1].name
    assert connection["status"] == "linked"
    assert connection["organisation_id"] == ORGANISATIONS[1].id
    assert connection["run_id"] == run["id"]

    # Two grants a page, then the last one.
    only_grants = {"customer": "crm-42", "decision": "granted", "limit": 2}
    first = seen(backend.get("/api/v1/consents", query_string=only_grants))
    page = first.get_json()
    assert len(page["data"]) == 2 and page["next_cursor"]
    second = seen(
        backend.get(
            "/api/v1/consents",
            query_string={**only_grants, "cursor": page["next_cursor"]},
        )
    ).get_json()
    assert len(second["data"]) == 1 and second["next_cursor"] is None
    assert [c["id"] for c in page["data"] + second["data"]] == [c["id"] for c in grants]
    linked = seen(backend.get("/api/v1/connections", query_string={"status": "linked"}))
    assert [c["id"] for c in linked.get_json()["data"]] == [connection["id"]]

    # The data pipeline's credential works at the platform.
    credentials = pipeline.get(f"/api/v1/connections/{connection['id']}/credentials")
    assert credentials.status_code == 200
    assert credentials.headers["Cache-Control"] == "no-store"
    credential = credentials.get_json()
    assert credential["organisation_id"] == ORGANISATIONS[1].id
    assert credential["platform"] == "sandbox"
    assert credential["token_type"].lower() == "bearer"
    assert credential["access_token"] == _tokens(app)["access_token"]
    assert _sandbox_organisation(live_sandbox, credential["access_token"]) == 200

    # Near expiry, it is refreshed before it is handed over.
    with app.app_context():
        db.session.execute(
            update(Connection).values(token_expires_at=clock.now() + timedelta(seconds=30))
        )
        db.session.commit()
    fresh = pipeline.get(f"/api/v1/connections/{connection['id']}/credentials").get_json()
    assert fresh["access_token"] != credential["access_token"]
    assert fresh["expires_at"] > credential["expires_at"]
    assert _sandbox_organisation(live_sandbox, fresh["access_token"]) == 200
    tokens = _tokens(app)

    # The optional consent is withdrawn on the customer's behalf, once.
    monitoring = next(c for c in customer["consents"] if c["item"] == "ongoing_monitoring")
    withdrawn = seen(backend.post(f"/api/v1/consents/{monitoring['id']}/withdraw"))
    assert withdrawn.status_code == 200
    assert withdrawn.get_json()["decision"] == "withdrawn"
    assert withdrawn.get_json()["item"] == "ongoing_monitoring"
    again = backend.post(f"/api/v1/consents/{monitoring['id']}/withdraw")
    problem(again, 409, "conflict")
    withdrawals = seen(backend.get("/api/v1/consents", query_string={"decision": "withdrawn"}))
    assert [c["id"] for c in withdrawals.get_json()["data"]] == [withdrawn.get_json()["id"]]

    # Disconnecting revokes at the platform; doing it twice is fine.
    ended = seen(backend.post(f"/api/v1/connections/{connection['id']}/disconnect"))
    assert ended.status_code == 200
    assert ended.get_json()["status"] == "disconnected"
    assert _sandbox_organisation(live_sandbox, fresh["access_token"]) == 401
    twice = seen(backend.post(f"/api/v1/connections/{connection['id']}/disconnect"))
    assert twice.status_code == 200
    assert twice.get_json()["status"] == "disconnected"
    gone = pipeline.get(f"/api/v1/connections/{connection['id']}/credentials")
    assert "disconnected" in problem(gone, 409, "conflict")["detail"]

    # Every call that matters is in the audit trail, under the key's prefix; no token is.
    entries = _audit(app)
    actions = [e.action for e in entries]
    assert actions.count("credentials.read") == 3
    assert actions.count("consent.withdraw") == 1
    assert actions.count("connection.disconnect") == 1
    with app.app_context():
        prefixes = {k.name: k.prefix for k in db.session.scalars(select(ApiKey))}
    reads = [e for e in entries if e.action == "credentials.read"]
    assert {e.actor_id for e in reads} == {prefixes["data pipeline"]}
    assert [e.after["outcome"] for e in reads] == ["issued", "issued", "not_linked"]  # type: ignore[index]
    assert [e.after["refreshed"] for e in reads[:2]] == [False, True]  # type: ignore[index]
    trail = json.dumps([[e.before, e.after] for e in entries])
    secrets = [credential["access_token"], fresh["access_token"], tokens["refresh_token"]]
    assert not any(secret in trail for secret in secrets)
    # Tokens appear in the credentials answers only.
    assert not any(secret in body for body in bodies for secret in secrets)


def test_a_customer_is_updated_in_place(app: Flask, backend: Api) -> None:
    backend.put(CUSTOMER, json={"name": "Acme Ltd", "email": "owner@acme.example"})
    updated = backend.put(CUSTOMER, json={"name": "Acme Group", "email": "owner@acme.example"})
    assert updated.status_code == 200
    assert updated.get_json()["name"] == "Acme Group"
    assert backend.get(CUSTOMER).get_json()["name"] == "Acme Group"
    actions = [(e.action, e.after) for e in _audit(app) if e.subject_type == "customer"]
    assert actions == [
        ("customer.create", {"changed": ["name", "email"]}),
        ("customer.update", {"changed": ["name"]}),
    ]


def test_a_refused_refresh_says_the_customer_must_reconnect(
    app: Flask, backend: Api, pipeline: Api, live_sandbox: LiveSandbox
) -> None:
    backend.put(CUSTOMER, json={"name": "Acme Ltd", "email": "owner@acme.example"})
    url = backend.post(CUSTOMER + "/links").get_json()["url"]
    _through_the_journey(app, url, live_sandbox, ALL_CONSENTS)
    tokens = _tokens(app)
    requests.post(
        f"{live_sandbox.url}/revoke",
        data={"token": tokens["refresh_token"], "token_type_hint": "refresh_token"},
        auth=("onramp-sandbox-client", "test-sandbox-client-secret"),
        timeout=10,
    )
    with app.app_context():
        db.session.execute(
            update(Connection).values(token_expires_at=clock.now() + timedelta(seconds=30))
        )
        db.session.commit()
        public_id = db.session.scalars(select(Connection.public_id)).one()
    refused = pipeline.get(f"/api/v1/connections/{public_id}/credentials")
    assert "connect again" in problem(refused, 409, "conflict")["detail"]
    assert backend.get(f"/api/v1/connections/{public_id}").get_json()["status"] == "deauthorized"
    assert [e.after for e in _audit(app) if e.action == "credentials.read"] == [
        {"outcome": "deauthorized"}
    ]


def test_an_expired_token_and_an_unreachable_platform_ask_to_retry(
    app: Flask, backend: Api, pipeline: Api, live_sandbox: LiveSandbox
) -> None:
    backend.put(CUSTOMER, json={"name": "Acme Ltd", "email": "owner@acme.example"})
    url = backend.post(CUSTOMER + "/links").get_json()["url"]
    _through_the_journey(app, url, live_sandbox, ALL_CONSENTS)
    with app.app_context():
        db.session.execute(
            update(Connection).values(token_expires_at=clock.now() - timedelta(seconds=5))
        )
        db.session.commit()
        public_id = db.session.scalars(select(Connection.public_id)).one()
    app.config["SANDBOX_URL"] = "http://127.0.0.1:9/sandbox"
    answer = pipeline.get(f"/api/v1/connections/{public_id}/credentials")
    problem(answer, 503, "provider-unavailable")
    assert int(answer.headers["Retry-After"]) > 0
    assert "access_token" not in answer.get_data(as_text=True)
    app.config["SANDBOX_URL"] = live_sandbox.url
    assert pipeline.get(f"/api/v1/connections/{public_id}/credentials").status_code == 200


def test_a_declined_journey_shows_in_the_consents(
    app: Flask, backend: Api, client: FlaskClient
) -> None:
    backend.put(CUSTOMER, json={"name": "Acme Ltd", "email": "owner@acme.example"})
    url = backend.post(CUSTOMER + "/links").get_json()["url"]
    browser = app.test_client()
    browser.get(urlsplit(url).path)
    browser.post("/journey/welcome")
    browser.post("/journey/consent", data={"decline": "Decline"})
    declined = backend.get(
        "/api/v1/consents", query_string={"customer": "crm-42", "decision": "declined"}
    ).get_json()["data"]
    assert declined, "declining records a decision per item"
    only = backend.get(
        "/api/v1/consents",
        query_string={"item": "financial_statements", "journey_id": "default"},
    ).get_json()["data"]
    assert {c["item"] for c in only} == {"financial_statements"}
    assert backend.get("/api/v1/consents", query_string={"customer": "nobody"}).get_json() == {
        "data": [],
        "next_cursor": None,
    }
    with app.app_context():
        run = db.session.scalars(select(JourneyRun)).one()
    later = (run.created_at + timedelta(hours=1)).isoformat()
    assert backend.get("/api/v1/consents", query_string={"since": later}).get_json()["data"] == []
    earlier = (run.created_at - timedelta(hours=1)).isoformat()
    assert backend.get("/api/v1/consents", query_string={"until": earlier}).get_json()["data"] == []
    naive = backend.get("/api/v1/consents", query_string={"since": "2026-01-01T00:00:00"})
    assert fields(problem(naive, 400, "invalid-parameter")) == ["since"]


def test_links_check_every_choice_they_carry(app: Flask, backend: Api) -> None:
    allow_return_url(app)
    backend.put(CUSTOMER, json={"name": "Acme Ltd", "email": "owner@acme.example"})
    cases = [
        ({"journey_id": "nope"}, "journey_id"),
        ({"locale": "es"}, "locale"),
        ({"platform": "nope"}, "platform"),
        ({"journey_id": "business", "platform": "quickbooks"}, "platform"),  # not offered
        ({"platform": "xero"}, "platform"),  # offered, but no client configured here
        ({"return_url": "https://evil.example/onramp/done"}, "return_url"),
        ({"return_url": "https://lender.example/elsewhere"}, "return_url"),
        ({"expires_in": 10}, "expires_in"),
        ({"expires_in": 60 * 60 * 24 * 365}, "expires_in"),
        ({"expires_in": "3600"}, "expires_in"),
        ({"expires_in": 3600.5}, "expires_in"),
        ({"reconnect": "x"}, "reconnect"),
    ]
    for body, field in cases:
        refused = backend.post(CUSTOMER + "/links", json=body)
        assert refused.status_code == 422, body
        assert fields(problem(refused, 422, "validation-error")) == [field], body
    ok = backend.post(CUSTOMER + "/links", json={"platform": "sandbox", "expires_in": 600.0})
    assert ok.status_code == 201
    with app.app_context():
        claims = read_token(ok.get_json()["url"].rsplit("/", 1)[1])
    assert claims.platform == "sandbox"
    assert claims.expires_at is not None
    problem(backend.post("/api/v1/customers/nobody/links"), 404, "not-found")


def _connection_of(app: Flask, external_id: str, **values: str) -> str:
    with app.app_context():
        customer = db.session.scalars(
            select(Customer).where(Customer.external_id == external_id)
        ).one()
        connection = Connection(customer_id=customer.id, platform="sandbox", **values)
        db.session.add(connection)
        db.session.commit()
        return connection.public_id


def test_a_reconnect_link_names_the_connection_it_brings_back(app: Flask, backend: Api) -> None:
    backend.put(CUSTOMER, json={"name": "Acme Ltd", "email": "owner@acme.example"})
    backend.put("/api/v1/customers/crm-43", json={"name": "Globex", "email": "it@globex.example"})
    linked = _connection_of(app, "crm-42", status="linked", org_id=ORGANISATIONS[0].id)
    never_linked = _connection_of(app, "crm-42", status="failed")
    someone_elses = _connection_of(app, "crm-43", status="linked", org_id=ORGANISATIONS[0].id)

    made = backend.post(CUSTOMER + "/links", json={"reconnect": linked})
    assert made.status_code == 201
    with app.app_context():
        claims = read_token(made.get_json()["url"].rsplit("/", 1)[1])
    # The reconnect journey unless another is asked for.
    assert (claims.journey_id, claims.reconnect) == ("reconnect", linked)
    chosen = backend.post(CUSTOMER + "/links", json={"reconnect": linked, "journey_id": "default"})
    with app.app_context():
        claims = read_token(chosen.get_json()["url"].rsplit("/", 1)[1])
    assert (claims.journey_id, claims.reconnect) == ("default", linked)

    for body, field in [
        ({"reconnect": someone_elses}, "reconnect"),
        ({"reconnect": never_linked}, "reconnect"),
        ({"reconnect": linked, "platform": "xero"}, "platform"),
    ]:
        refused = backend.post(CUSTOMER + "/links", json=body)
        assert fields(problem(refused, 422, "validation-error")) == [field], body


def test_a_repair_link_is_made_for_a_broken_connection_only(app: Flask, backend: Api) -> None:
    backend.put(CUSTOMER, json={"name": "Acme Ltd", "email": "owner@acme.example"})
    org = ORGANISATIONS[0].id
    broken = _connection_of(
        app, "crm-42", status="deauthorized", org_id=org, last_error="revoked_at_provider"
    )
    healthy = _connection_of(app, "crm-42", status="linked", org_id=org)
    never_linked = _connection_of(app, "crm-42", status="failed")

    made = backend.post(f"/api/v1/connections/{broken}/repair-link", json={"locale": "fr"})
    assert made.status_code == 201
    body = made.get_json()
    assert body["url"].startswith("http://localhost/connect/repair/")
    with app.app_context():
        claims = read_token(body["url"].rsplit("/", 1)[1])
    assert (claims.journey_id, claims.reconnect, claims.locale) == ("reconnect", broken, "fr")
    assert claims.expires_at == int(datetime.fromisoformat(body["expires_at"]).timestamp())
    # No body at all is fine too.
    assert backend.post(f"/api/v1/connections/{broken}/repair-link").status_code == 201

    problem(backend.post(f"/api/v1/connections/{healthy}/repair-link"), 409, "conflict")
    problem(backend.post(f"/api/v1/connections/{never_linked}/repair-link"), 409, "conflict")
    problem(backend.post("/api/v1/connections/nope/repair-link"), 404, "not-found")
    too_long = backend.post(f"/api/v1/connections/{broken}/repair-link", json={"expires_in": 10**9})
    assert fields(problem(too_long, 422, "validation-error")) == ["expires_in"]
    odd = backend.post(f"/api/v1/connections/{broken}/repair-link", json={"locale": 7})
    assert fields(problem(odd, 422, "validation-error")) == ["locale"]


def test_a_connection_says_when_its_refresh_token_expires(app: Flask, backend: Api) -> None:
    backend.put(CUSTOMER, json={"name": "Acme Ltd", "email": "owner@acme.example"})
    org = ORGANISATIONS[0].id
    told = _connection_of(app, "crm-42", status="linked", org_id=org)
    untold = _connection_of(app, "crm-42", status="linked", org_id=org)
    with app.app_context():
        db.session.execute(
            update(Connection)
            .where(Connection.public_id == told)
            .values(refresh_expires_at=datetime(2031, 1, 2, 3, 4, 5, tzinfo=UTC))
        )
        db.session.commit()

    one = backend.get(f"/api/v1/connections/{told}").get_json()
    assert datetime.fromisoformat(one["refresh_expires_at"]) == datetime(
        2031, 1, 2, 3, 4, 5, tzinfo=UTC
    )
    listed = backend.get("/api/v1/connections?customer=crm-42").get_json()["data"]
    assert {c["id"]: c["refresh_expires_at"] for c in listed} == {
        told: one["refresh_expires_at"],
        untold: None,
    }


def test_journeys_say_where_they_may_be_embedded_and_returned_to(app: Flask, backend: Api) -> None:
    allow_return_url(app)
    journeys = {j["id"]: j for j in backend.get("/api/v1/journeys").get_json()["data"]}
    assert journeys["default"]["allowed_origins"] == ["https://lender.example"]
    assert journeys["default"]["return_urls"] == ["https://lender.example/onramp"]
    assert journeys["business"]["allowed_origins"] == []


def test_the_openapi_document_lists_every_operation(client: FlaskClient) -> None:
    from app.api.views import api

    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.1")
    assert document["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"
    listed = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
    }
    assert listed == {(op.method, op.openapi_path) for op in api.operations.values()}
    credentials = document["paths"]["/api/v1/connections/{connection_id}/credentials"]["get"]
    assert credentials["x-required-scope"] == "credentials"
    assert set(credentials["responses"]) >= {"200", "401", "403", "404", "409", "503"}
    put = document["paths"]["/api/v1/customers/{external_id}"]["put"]
    assert {"200", "201", "413", "415", "422"} <= set(put["responses"])
    link = document["components"]["schemas"]["LinkRequest"]["properties"]["expires_in"]
    assert {"type": "integer", "minimum": 60, "maximum": 60 * 60 * 24 * 14} in link["anyOf"]

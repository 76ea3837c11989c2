"""The database becomes unreachable: customers, colleagues and API clients are told to try
again in a moment (503, Retry-After), in the customer's language, and nothing is lost."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select

from app.extensions import db
from app.models import JourneyRun
from tests.admin import signed_in_as
from tests.integration.api_helpers import Api, create_key
from tests.integration.conftest import REQUIRED_CONSENTS
from tests.pages import text_of

PROBLEMS = "https://onramp.dev/problems/"
# What each language's page says (app/translations).
UNAVAILABLE = {
    "en": ("We're briefly unavailable", "Nothing you have done so far is lost."),
    "fr": (
        "Le service est momentanément indisponible",
        "Rien de ce que vous avez déjà fait n'est perdu.",
    ),
    "de": (
        "Wir sind kurz nicht erreichbar",
        "Nichts von dem, was Sie bisher getan haben, geht verloren.",
    ),
}


@contextmanager
def unreachable_database(app: Flask, tmp_path: Path) -> Iterator[None]:
    """Every new connection goes where no database is: PostgreSQL on a closed port, SQLite
    in a directory that does not exist. Pooled connections are closed first."""

    def elsewhere(_dialect: Any, _record: Any, cargs: list[Any], cparams: dict[str, Any]) -> None:
        if engine.dialect.name == "postgresql":
            cparams.update(host="127.0.0.1", port=1)
        else:
            cargs[0] = str(tmp_path / "removed" / "onramp.db")

    with app.app_context():
        engine = db.engine
        event.listen(engine, "do_connect", elsewhere)
        engine.dispose()
    try:
        yield
    finally:
        with app.app_context():
            event.remove(engine, "do_connect", elsewhere)
            engine.dispose()


def _assert_try_again(response: Any) -> None:
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "30"


@pytest.mark.parametrize("language", ["en", "fr", "de"])
def test_a_customer_is_told_nothing_is_lost_in_their_language(
    app: Flask, customer_client: FlaskClient, tmp_path: Path, language: str
) -> None:
    with unreachable_database(app, tmp_path):
        response = customer_client.get("/journey/welcome", headers={"Accept-Language": language})
    _assert_try_again(response)
    page = text_of(response)
    title, nothing_lost = UNAVAILABLE[language]
    assert f"<h1>{title}</h1>" in page
    assert nothing_lost in page
    assert f'<html lang="{language}">' in page
    assert 'href="/journey/welcome"' in page  # "Try again"


def test_an_answer_sent_during_the_outage_can_be_sent_again_afterwards(
    app: Flask, customer_client: FlaskClient, tmp_path: Path
) -> None:
    assert customer_client.post("/journey/welcome").status_code == 303
    with unreachable_database(app, tmp_path):
        _assert_try_again(customer_client.post("/journey/consent", data=REQUIRED_CONSENTS))

    # Back again: the run is where the customer left it, and the answer goes through.
    with app.app_context():
        assert db.session.scalars(select(JourneyRun.current_step)).one() == "consent"
    response = customer_client.post("/journey/consent", data=REQUIRED_CONSENTS)
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/journey/software")


def test_a_colleague_in_the_console_is_told_to_try_again(app: Flask, tmp_path: Path) -> None:
    colleague = signed_in_as(app, "viewer")
    with unreachable_database(app, tmp_path):
        response = colleague.get("/admin/customers")
    _assert_try_again(response)
    assert "Nothing you have done so far is lost." in text_of(response)


def test_an_api_client_gets_a_problem_to_retry(
    app: Flask, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    api = Api(app.test_client(), create_key(app, "read", "write"))
    customer = {"name": "Acme Ltd", "email": "owner@acme.example"}
    app.logger.addHandler(caplog.handler)  # the app's JSON log does not reach the root
    try:
        with unreachable_database(app, tmp_path), caplog.at_level(logging.WARNING):
            listed = api.get("/api/v1/consents")
            created = api.put("/api/v1/customers/crm-4711", json=customer)
    finally:
        app.logger.removeHandler(caplog.handler)

    for response in (listed, created):
        _assert_try_again(response)
        assert response.mimetype == "application/problem+json"
        assert response.json is not None
        assert response.json["type"] == PROBLEMS + "database-unavailable"
        assert response.json["status"] == 503
    # Said in the log, once per request, with nothing about the customer or the query.
    logged = [r.getMessage() for r in caplog.records if "database" in r.getMessage()]
    assert len(logged) == 2
    for message in logged:
        assert "crm-4711" not in message and "acme" not in message.lower()
        assert "SELECT" not in message and "INSERT" not in message

    # Back again: the retry creates the customer.
    assert api.put("/api/v1/customers/crm-4711", json=customer).status_code == 201
    # As the API's own document says.
    document = app.test_client().get("/api/openapi.json").json or {}
    answers = document["paths"]["/api/v1/customers/{external_id}"]["put"]["responses"]
    assert "database-unavailable" in answers["503"]["description"]


def test_readiness_still_reports_the_outage(
    app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    with unreachable_database(app, tmp_path):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json == {"status": "unavailable", "checks": {"database": "OperationalError"}}


def test_metrics_still_answer_leaving_out_what_only_the_database_knows(
    app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    app.config["METRICS_TOKEN"] = "scrape-token"
    with unreachable_database(app, tmp_path):
        scraped = client.get("/metrics", headers={"Authorization": "Bearer scrape-token"})
    assert scraped.status_code == 200
    assert "onramp_webhook_attempts_total" in scraped.text
    assert "onramp_consent_chain_" not in scraped.text

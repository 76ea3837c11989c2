"""The go-live checklist: each item turns green when the installation is ready, red until then."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.engine.loading import parse_journey
from app.engine.registry import current_journeys, get_journey
from app.engine.schema import Journey
from app.extensions import db
from app.models import (
    Connection,
    Customer,
    JourneyRun,
    OutboxEvent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from app.ops import readiness
from app.webhooks.endpoints import add_endpoint
from tests.admin import signed_in_as
from tests.integration.webhook_receiver import Receiver, Reply

CREDENTIALS = {
    f"{key}_{part}": "configured"
    for key in ("XERO", "QUICKBOOKS", "SAGE", "FREEAGENT")
    for part in ("CLIENT_ID", "CLIENT_SECRET")
}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.close()


def _registered(receiver: Receiver) -> str:
    endpoint, _ = add_endpoint(receiver.url, [])
    db.session.commit()
    return str(endpoint.public_id)


@pytest.fixture
def ctx(app: Flask) -> Iterator[Flask]:
    with app.app_context():
        yield app


def _variant(journey_id: str, change: Any) -> dict[str, Journey]:
    """The current journeys with one of them changed by ``change(definition)``."""
    journey = get_journey(journey_id)
    assert journey is not None
    definition = journey.model_dump(mode="json")
    change(definition)
    return {**current_journeys(), journey_id: parse_journey(definition, Path("test.yaml"))}


# Platform credentials


def test_platforms_without_credentials_are_named_with_how_to_configure_them(ctx: Flask) -> None:
    check = readiness.platform_credentials(current_journeys())
    assert not check.ready
    assert "Xero: no client id and secret configured" in check.detail
    assert "Sandbox" not in check.detail
    assert check.fix is not None
    assert "set ONRAMP_<KEY>_CLIENT_ID and ONRAMP_<KEY>_CLIENT_SECRET, where <KEY> is XERO," in (
        check.fix
    )


def test_platforms_with_credentials_are_ready(ctx: Flask) -> None:
    ctx.config.update(CREDENTIALS)
    check = readiness.platform_credentials(current_journeys())
    assert check.ready, check.detail
    assert "Xero" in check.detail and check.fix is None


def test_a_journey_offering_the_sandbox_once_it_is_off_is_not_ready(ctx: Flask) -> None:
    ctx.config.update(CREDENTIALS, SANDBOX_URL=None)
    check = readiness.platform_credentials(current_journeys())
    assert not check.ready
    assert "Sandbox Accounting: the Sandbox is turned off" in check.detail
    assert check.fix is not None
    assert "Remove sandbox from the journeys' platform steps." in check.fix
    assert "CLIENT_ID" not in check.fix


def test_journeys_that_offer_no_platform_need_no_credentials(ctx: Flask) -> None:
    check = readiness.platform_credentials({})
    assert check.ready


# Webhooks


def _endpoint(status: str = "enabled") -> WebhookEndpoint:
    endpoint = WebhookEndpoint(
        url="https://hooks.example/onramp", secrets_ciphertext="x", status=status
    )
    db.session.add(endpoint)
    return endpoint


def _attempt(endpoint: WebhookEndpoint, event_type: str, status_code: int | None) -> None:
    event = OutboxEvent(type=event_type, data={})
    delivery = WebhookDelivery(event=event, endpoint=endpoint, status="succeeded")
    db.session.add(
        WebhookAttempt(
            delivery=delivery,
            status_code=status_code,
            attempted_at=datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
        )
    )
    db.session.commit()


def test_no_webhook_endpoint_is_not_ready(ctx: Flask) -> None:
    check = readiness.webhook_tested()
    assert (check.ready, check.detail) == (False, "No webhook endpoint is registered.")
    assert check.fix is not None and "flask webhooks test ID" in check.fix


def test_an_endpoint_that_refused_every_event_is_not_ready(ctx: Flask) -> None:
    endpoint = _endpoint()
    _attempt(endpoint, "journey.started", 401)
    _attempt(endpoint, "journey.started", None)
    check = readiness.webhook_tested()
    assert not check.ready
    assert "none has accepted a signed event yet" in check.detail


def test_a_refused_test_ping_is_not_ready(ctx: Flask, receiver: Receiver) -> None:
    endpoint_id = _registered(receiver)
    receiver.answer(Reply(401))
    assert ctx.test_cli_runner().invoke(args=["webhooks", "test", endpoint_id]).exit_code == 1
    check = readiness.webhook_tested()
    assert not check.ready
    assert "none has accepted a signed event yet" in check.detail


def test_a_test_ping_the_receiver_accepted_is_ready(ctx: Flask, receiver: Receiver) -> None:
    endpoint_id = _registered(receiver)
    result = ctx.test_cli_runner().invoke(args=["webhooks", "test", endpoint_id])
    assert result.exit_code == 0, result.output
    check = readiness.webhook_tested()
    assert check.ready
    assert check.detail.startswith(f"{receiver.url} accepted a signed test event on ")


def test_an_accepted_ping_no_longer_counts_once_its_endpoint_is_disabled(
    ctx: Flask, receiver: Receiver
) -> None:
    endpoint_id = _registered(receiver)
    assert ctx.test_cli_runner().invoke(args=["webhooks", "test", endpoint_id]).exit_code == 0
    endpoint = db.session.scalars(select(WebhookEndpoint)).one()
    endpoint.status = "disabled"
    db.session.commit()
    check = readiness.webhook_tested()
    assert (check.ready, check.detail) == (False, "Every webhook endpoint is disabled.")


def test_a_real_event_the_receiver_accepted_is_ready(ctx: Flask) -> None:
    _attempt(_endpoint(), "connection.linked", 204)
    check = readiness.webhook_tested()
    assert check.ready
    assert check.detail == (
        "https://hooks.example/onramp accepted a signed connection.linked event "
        "on 2026-03-02 09:30 UTC."
    )


# Consent texts and privacy notice


def test_the_shipped_consent_texts_are_complete(ctx: Flask) -> None:
    check = readiness.consent_texts(current_journeys())
    assert check.ready, check.detail
    assert "No consent is asked in reconnect" in check.detail


def _blank_purpose(definition: dict[str, Any]) -> None:
    consent = next(s for s in definition["steps"] if s["type"] == "consent")
    consent["items"][0]["purpose"]["fr"] = " "
    consent["decline_text"] = {"en": "", "fr": "", "de": ""}


def test_an_empty_consent_text_is_named_with_its_locale(ctx: Flask) -> None:
    check = readiness.consent_texts(_variant("default", _blank_purpose))
    assert not check.ready
    assert check.detail == (
        "Empty consent texts: default: decline text (en), decline text (fr), decline text (de), "
        "financial_statements purpose (fr)."
    )
    assert check.fix is not None and "every locale" in check.fix


def test_journeys_that_ask_no_consent_at_all_are_not_ready(ctx: Flask) -> None:
    reconnect = get_journey("reconnect")
    assert reconnect is not None
    check = readiness.consent_texts({"reconnect": reconnect})
    assert (check.ready, check.detail) == (False, "No journey asks for consent.")


def test_every_shipped_journey_links_to_a_privacy_notice(ctx: Flask) -> None:
    assert readiness.privacy_urls(current_journeys()).ready


def test_a_journey_without_a_privacy_notice_is_named(ctx: Flask) -> None:
    def drop(definition: dict[str, Any]) -> None:
        definition["business"]["privacy_url"] = None

    check = readiness.privacy_urls(_variant("business", drop))
    assert (check.ready, check.detail) == (False, "No privacy notice URL in: business.")


# Branding


def test_the_shipped_branding_has_enough_contrast(ctx: Flask) -> None:
    assert readiness.branding(current_journeys(), Path(ctx.config["JOURNEYS_DIR"])).ready


def test_a_colour_below_wcag_aa_is_named(ctx: Flask) -> None:
    def yellow(definition: dict[str, Any]) -> None:
        definition["business"]["brand"]["primary_colour"] = "#ffdd00"

    check = readiness.branding(_variant("default", yellow), Path(ctx.config["JOURNEYS_DIR"]))
    assert not check.ready
    assert "default primary_colour: white button text on primary_colour has a contrast" in (
        check.detail
    )


# A completed sandbox journey


def _completed_run(platform: str, status: str = "completed") -> None:
    customer = Customer(name="Acme", email="a@acme.example")
    run = JourneyRun(
        customer=customer,
        journey_id="default",
        journey_version="v",
        current_step="done",
        status=status,
        completed_at=datetime(2026, 3, 4, tzinfo=UTC) if status == "completed" else None,
    )
    db.session.add(run)
    db.session.flush()
    db.session.add(
        Connection(
            customer_id=customer.id,
            run_id=run.id,
            platform=platform,
            status="linked",
            linked_at=datetime(2026, 3, 4, tzinfo=UTC),
        )
    )
    db.session.commit()


def test_no_completed_sandbox_journey_is_not_ready(ctx: Flask) -> None:
    _completed_run("xero")
    _completed_run("sandbox", status="active")
    check = readiness.sandbox_journey()
    assert not check.ready
    assert check.fix is not None and "--platform sandbox" in check.fix


def test_a_journey_completed_with_the_sandbox_is_ready(ctx: Flask) -> None:
    _completed_run("sandbox")
    check = readiness.sandbox_journey()
    assert (check.ready, check.detail) == (True, "The default journey was completed on 2026-03-04.")


# Production settings


def test_secrets_given_explicitly_are_ready(ctx: Flask) -> None:
    assert readiness.secret_keys().ready


def test_secrets_generated_for_development_are_not_ready(ctx: Flask, tmp_path: Path) -> None:
    ctx.instance_path = str(tmp_path)
    kept = {"SECRET_KEY": ctx.config["SECRET_KEY"], "TOKEN_ENCRYPTION_KEY": "another"}
    (tmp_path / "secrets.json").write_text(json.dumps(kept))
    check = readiness.secret_keys()
    assert not check.ready
    assert check.detail.startswith("SECRET_KEY was generated for development")
    assert check.fix is not None and "ONRAMP_SECRET_KEY" in check.fix
    # The check names the secret, never shows it.
    assert ctx.config["SECRET_KEY"] not in check.detail + check.fix


def test_a_short_secret_key_is_not_ready(ctx: Flask) -> None:
    ctx.config["SECRET_KEY"] = "short"
    check = readiness.secret_keys()
    assert not check.ready and "shorter than 32 characters" in check.detail


@pytest.mark.parametrize(
    ("check", "ready_config", "not_ready_config"),
    [
        (readiness.https, {"PUBLIC_URL": "https://onramp.example"}, {"PUBLIC_URL": "http://x"}),
        (
            readiness.secure_cookies,
            {"SESSION_COOKIE_SECURE": True},
            {"SESSION_COOKIE_SECURE": False},
        ),
        (
            readiness.database,
            {"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://onramp@db/onramp"},
            {"SQLALCHEMY_DATABASE_URI": "sqlite:///onramp.db"},
        ),
        (readiness.environment, {"ENV_NAME": "production"}, {"ENV_NAME": "development"}),
        (readiness.sandbox_off, {"SANDBOX_ENABLED": False}, {"SANDBOX_ENABLED": True}),
        (
            readiness.redis_configured,
            {"REDIS_URL": "redis://cache:6379/0"},
            {"REDIS_URL": None},
        ),
    ],
)
def test_production_settings(
    ctx: Flask,
    check: Any,
    ready_config: dict[str, Any],
    not_ready_config: dict[str, Any],
) -> None:
    ctx.config.update(ready_config)
    green = check()
    assert (green.ready, green.fix) == (True, None)
    ctx.config.update(not_ready_config)
    red = check()
    assert not red.ready
    assert red.fix


# The page


def test_the_checklist_shows_each_status_in_words_and_with_a_named_icon(app: Flask) -> None:
    app.config.update(CREDENTIALS)
    client = signed_in_as(app, "viewer")
    response = client.get("/admin/go-live")
    assert response.status_code == 200
    page = response.text
    checks = readiness_in(app)
    ready = sum(c.ready for c in checks)
    assert f"{ready} of {len(checks)} checks are ready" in page
    assert page.count('aria-label="Ready"') == ready
    assert page.count('aria-label="Not ready"') == len(checks) - ready
    assert page.count('<span class="golive-status">Not ready</span>') == len(checks) - ready
    assert "How to fix:" in page
    assert "Set ONRAMP_ENV_NAME=production." in page
    # Nothing secret on the page.
    assert app.config["SECRET_KEY"] not in page
    assert app.config["TOKEN_ENCRYPTION_KEY"] not in page


def readiness_in(app: Flask) -> list[readiness.Check]:
    with app.test_request_context():
        return readiness.readiness()

"""The built-in Sandbox, with its published test login, is off in production unless a
UAT environment asks for it; the go-live checklist says so when it is on."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask

from app import create_app
from app.customers.records import create_customer
from app.extensions import db
from app.links import journey_link
from app.ops import readiness
from tests.admin import signed_in_as
from tests.conftest import reset_database, test_settings
from tests.integration.conftest import REQUIRED_CONSENTS

METADATA = "/sandbox/.well-known/oauth-authorization-server"


@pytest.fixture
def build(tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """create_app as a deployment runs it: ONRAMP_* settings from the environment."""
    built: list[Flask] = []

    def make(**settings: object) -> Flask:
        app = create_app(test_settings(tmp_path, **settings))
        reset_database(app)
        built.append(app)
        return app

    yield make
    for app in built:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def _software_page(app: Flask) -> str:
    with app.app_context():
        customer = create_customer("Acme Ltd", "owner@acme.example")
        link = journey_link(customer.public_id, "default").removeprefix("http://localhost")
    client = app.test_client()
    client.get(link)
    client.post("/journey/welcome")
    client.post("/journey/consent", data=REQUIRED_CONSENTS)
    return client.get("/journey/software").text


def _sandbox_choices(page: str) -> list[str]:
    """The buttons that choose the Sandbox: none where it is not offered."""
    return re.findall(r'<button[^>]*name="platform" value="sandbox"[^>]*>', page)


def test_production_leaves_the_sandbox_off_by_default(
    build: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ONRAMP_ENV_NAME", "production")
    app = build()

    assert app.test_client().get(METADATA).status_code == 404
    assert app.test_client().get("/sandbox/authorize").status_code == 404
    page = _software_page(app)
    assert _sandbox_choices(page) == []
    assert "Sandbox Accounting" not in html.unescape(page)
    with app.test_request_context():
        assert readiness.sandbox_off().ready
        # A test journey with the Sandbox is still asked for: the checklist says how.
        assert "ONRAMP_SANDBOX_ENABLED=true" in (readiness.sandbox_journey().fix or "")


def test_a_uat_environment_turns_the_sandbox_on_in_production_and_the_checklist_says_so(
    build: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ONRAMP_ENV_NAME", "production")
    monkeypatch.setenv("ONRAMP_SANDBOX_ENABLED", "true")
    app = build()

    assert app.test_client().get(METADATA).status_code == 200
    assert len(_sandbox_choices(_software_page(app))) == 1
    with app.test_request_context():
        check = readiness.sandbox_off()
    assert not check.ready
    assert check.fix is not None and "remove ONRAMP_SANDBOX_ENABLED" in check.fix
    checklist = html.unescape(signed_in_as(app, "viewer").get("/admin/go-live").text)
    assert check.detail in checklist
    assert check.fix in checklist


def test_development_serves_the_sandbox_unless_turned_off(
    build: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ONRAMP_ENV_NAME", raising=False)
    monkeypatch.delenv("ONRAMP_SANDBOX_ENABLED", raising=False)
    assert build().test_client().get(METADATA).status_code == 200

    monkeypatch.setenv("ONRAMP_SANDBOX_ENABLED", "false")
    assert build().test_client().get(METADATA).status_code == 404


@pytest.mark.parametrize("value", ["False", "no", "off", "0", ""])
def test_any_spelling_of_off_turns_the_sandbox_off(
    build: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("ONRAMP_SANDBOX_ENABLED", value)
    assert build().test_client().get(METADATA).status_code == 404


@pytest.mark.parametrize("value", ["True", "yes", "on", "1"])
def test_any_spelling_of_on_turns_the_sandbox_on_in_production(
    build: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("ONRAMP_ENV_NAME", "production")
    monkeypatch.setenv("ONRAMP_SANDBOX_ENABLED", value)
    assert build().test_client().get(METADATA).status_code == 200

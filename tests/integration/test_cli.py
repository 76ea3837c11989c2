"""The command-line tools a product team and an operator use."""

from __future__ import annotations

import json
import re
from pathlib import Path

from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import Customer

ROOT = Path(__file__).resolve().parents[2]


def test_invite_creates_a_customer_and_prints_a_working_link(app: Flask) -> None:
    result = app.test_cli_runner().invoke(
        args=["invite", "--name", "Acme Ltd", "--email", "Owner@Acme.example"]
    )
    assert result.exit_code == 0, result.output
    link = result.output.strip()
    assert link.startswith("http://localhost/j/")
    with app.app_context():
        customer = db.session.scalars(select(Customer)).one()
    assert (customer.name, customer.email) == ("Acme Ltd", "owner@acme.example")
    response = app.test_client().get(link.removeprefix("http://localhost"), follow_redirects=True)
    assert "Step 1 of 5" in response.get_data(as_text=True)


def test_invite_refuses_a_bad_email_or_journey(app: Flask) -> None:
    runner = app.test_cli_runner()
    bad_email = runner.invoke(args=["invite", "--name", "A", "--email", "not-an-email"])
    assert bad_email.exit_code == 2
    assert "email" in bad_email.output.lower()
    bad_journey = runner.invoke(
        args=["invite", "--name", "A", "--email", "a@b.example", "--journey", "nope"]
    )
    assert bad_journey.exit_code == 2
    assert "no journey with id 'nope'" in bad_journey.output


def test_journeys_validate_passes_the_shipped_files(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["journeys", "validate"])
    assert result.exit_code == 0
    assert "default.yaml: ok (default, version" in result.output


def test_journeys_validate_fails_on_a_broken_file(app: Flask, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: broken\nname: x\n")
    good = ROOT / "journeys" / "default.yaml"
    result = app.test_cli_runner().invoke(args=["journeys", "validate", str(good), str(broken)])
    assert result.exit_code == 1
    assert "broken.yaml: business: Field required" in result.output


def test_journeys_schema_is_json_schema(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["journeys", "schema"])
    schema = json.loads(result.output)
    assert schema["title"] == "Journey"
    assert "steps" in schema["properties"]


def test_demo_prints_the_link_and_sandbox_login_once(app: Flask) -> None:
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo"])
    second = runner.invoke(args=["demo"])
    assert "demo@sandbox.test" in first.output
    assert "sandbox-demo" in first.output
    assert "/j/" in first.output
    with app.app_context():
        assert len(db.session.scalars(select(Customer)).all()) == 1
    assert second.exit_code == 0
    password = re.search(r"admin@example.com\s+password: (\S+)", first.output)
    assert password is not None
    assert password.group(1) in second.output
    signed_in = app.test_client().post(
        "/admin/login", data={"email": "admin@example.com", "password": password.group(1)}
    )
    assert signed_in.status_code == 303


def test_demo_prints_the_adviser_and_the_too_weak_logins_too(app: Flask) -> None:
    printed = app.test_cli_runner().invoke(args=["demo"]).output

    assert "More Sandbox test logins:" in printed
    assert "adviser@sandbox.test / sandbox-adviser  (an accountant" in printed
    assert "invoices@sandbox.test / sandbox-invoices  (a clerk whose role is too weak" in printed


def test_demo_prints_no_sandbox_login_when_the_sandbox_is_not_mounted(tmp_path: Path) -> None:
    from app import create_app
    from tests.conftest import reset_database, test_settings

    app = create_app(test_settings(tmp_path, SANDBOX_ENABLED=False))
    reset_database(app)

    result = app.test_cli_runner().invoke(args=["demo"])
    with app.app_context():
        db.session.remove()
        db.engine.dispose()

    assert result.exit_code == 0, result.output
    assert "/j/" in result.output
    assert "demo@sandbox.test" not in result.output
    assert "sandbox-demo" not in result.output


def test_an_invalid_journey_stops_the_app_with_a_message(tmp_path: Path) -> None:
    import pytest

    from app import create_app
    from tests.conftest import test_settings

    (tmp_path / "default.yaml").write_text("id: default\nsteps: []\n")
    with pytest.raises(SystemExit) as stopped:
        create_app(test_settings(tmp_path, JOURNEYS_DIR=str(tmp_path)))
    message = str(stopped.value)
    assert "default.yaml" in message
    assert "business: Field required" in message


def test_demo_also_prints_the_other_example_journeys(app: Flask) -> None:
    output = app.test_cli_runner().invoke(args=["demo"]).output
    assert "business: http://localhost/j/" in output
    assert "reconnect: http://localhost/j/" in output


def test_journeys_list_says_when_the_database_is_not_migrated(tmp_path: Path) -> None:
    from app import create_app
    from tests.conftest import test_settings

    bare = create_app(test_settings(tmp_path, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/x.db"))
    result = bare.test_cli_runner().invoke(args=["journeys", "list"])
    assert result.exit_code == 1
    assert "run `flask db upgrade` first" in result.output
    with bare.app_context():
        db.engine.dispose()


def test_invite_can_name_the_journeys_language(app: Flask) -> None:
    runner = app.test_cli_runner()
    link = runner.invoke(
        args=["invite", "--name", "A", "--email", "a@b.example", "--locale", "de"]
    ).output.strip()
    page = app.test_client().get(link.removeprefix("http://localhost"), follow_redirects=True)
    assert "Verbinden Sie Ihre Buchhaltungssoftware" in page.get_data(as_text=True)
    refused = runner.invoke(
        args=["invite", "--name", "A", "--email", "a@b.example", "--locale", "es"]
    )
    assert refused.exit_code == 2
    assert "journey 'default' is in en, fr, de" in refused.output

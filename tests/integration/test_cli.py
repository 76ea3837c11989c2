"""The command-line tools a product team and an operator use."""

from __future__ import annotations

import json
import logging
import re
from html import unescape
from pathlib import Path

import pytest
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
    assert f"{broken}, line 1: business: Field required" in result.output


def test_journeys_check_prints_each_error_with_its_step_and_line(
    app: Flask, tmp_path: Path
) -> None:
    text = (ROOT / "journeys" / "default.yaml").read_text(encoding="utf-8")
    text = text.replace("    not_listed: true\n", "    not_listed: true\n    colour: red\n", 1)
    text = text.replace("    delegate_days: 7\n", "    delegate_days: 7\n    when: x.y\n", 1)
    broken = tmp_path / "default.yaml"
    broken.write_text(text, encoding="utf-8")
    lines = text.splitlines()
    colour = lines.index("    colour: red") + 1
    result = app.test_cli_runner().invoke(args=["journeys", "check", str(broken)])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{broken}, line {colour}, step 'software': colour: unknown field",
    ]
    del lines[colour - 1]
    broken.write_text("\n".join(lines) + "\n", encoding="utf-8")
    when = lines.index("    when: x.y") + 1
    result = app.test_cli_runner().invoke(args=["journeys", "check", str(broken)])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"{broken}, line {when}, step 'connect': when: must be the same as the "
        "'platform_select' step's when (None)",
        f"{broken}, line {when}, step 'connect': when: unknown step 'x' in 'x.y'",
    ]


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


def test_a_broken_journey_file_is_skipped_and_the_others_keep_working(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from app import create_app
    from tests.admin import signed_in_as
    from tests.conftest import reset_database, test_settings

    journeys = tmp_path / "journeys"
    journeys.mkdir()
    (journeys / "default.yaml").write_bytes((ROOT / "journeys" / "default.yaml").read_bytes())
    (journeys / "spring.yaml").write_text("id: spring\nname: Spring offer\nsteps: []\n")
    registry_log = logging.getLogger("app.engine.registry")
    registry_log.addHandler(caplog.handler)
    try:
        app = create_app(test_settings(tmp_path, JOURNEYS_DIR=str(journeys)))
    finally:
        registry_log.removeHandler(caplog.handler)
    reset_database(app)
    assert f"{journeys / 'spring.yaml'}, line 1: business: Field required" in caplog.text

    invited = app.test_cli_runner().invoke(
        args=["invite", "--name", "Acme Ltd", "--email", "owner@acme.example"]
    )
    assert invited.exit_code == 0, invited.output
    page = app.test_client().get(
        invited.output.strip().removeprefix("http://localhost"), follow_redirects=True
    )
    assert "Step 1 of 5" in page.get_data(as_text=True)
    spring = app.test_cli_runner().invoke(
        args=["invite", "--name", "B", "--email", "b@b.example", "--journey", "spring"]
    )
    assert "no journey with id 'spring'" in spring.output

    listing = unescape(signed_in_as(app, "viewer").get("/admin/journeys").get_data(as_text=True))
    assert "1 journey file skipped: fix it" in listing
    assert "journeys/spring.yaml" in listing
    assert "line 3: steps: List should have at least 2 items after validation, not 0" in listing
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_invite_prints_links_to_where_the_running_server_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app import create_app
    from app.gunicorn_conf import forget_public_url, record_public_url
    from tests.conftest import reset_database, test_settings

    server_file = tmp_path / "server.json"
    monkeypatch.setenv("ONRAMP_SERVER_FILE", str(server_file))
    # `make run HOST=0.0.0.0 PORT=8080` starts the server with this in its environment:
    record_public_url({"ONRAMP_PUBLIC_URL": "http://onramp.test:8080/"})
    # `flask invite` in another shell has none of it.
    monkeypatch.delenv("ONRAMP_PUBLIC_URL", raising=False)
    settings = test_settings(tmp_path)
    del settings["PUBLIC_URL"]
    app = create_app(settings)
    reset_database(app)
    invited = app.test_cli_runner().invoke(
        args=["invite", "--name", "Acme Ltd", "--email", "owner@acme.example"]
    )
    assert invited.exit_code == 0, invited.output
    assert invited.output.startswith("http://onramp.test:8080/j/")

    forget_public_url()  # the server stopped
    assert not server_file.exists()
    stopped = create_app(settings)
    assert stopped.config["PUBLIC_URL"] == "http://127.0.0.1:5000"
    for each in (app, stopped):
        with each.app_context():
            db.session.remove()
            db.engine.dispose()


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

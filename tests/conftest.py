"""Fixtures shared by the unit and integration tiers.

With ``TEST_DATABASE_URL`` set (CI sets PostgreSQL) every test runs against that
database, in a schema of each pytest-xdist worker's own (``public`` without xdist),
built by an owner role while the app connects as a role that owns nothing
(tests/database.py); otherwise each test gets its own SQLite file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import clock as app_clock
from app.extensions import db
from tests import database


def _schema() -> str:
    """The PostgreSQL schema this test process uses: its own under pytest-xdist."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return f"test_{worker}" if worker else "public"


def database_url(tmp_path: Path) -> str:
    """The database the app under test connects to, as the role it runs as."""
    if database.admin_url() is None:
        return f"sqlite:///{tmp_path / 'test.db'}"
    return database.role_url(database.APP_ROLE, _schema())


def fresh_schema() -> None:
    """Drop everything in this process's PostgreSQL schema, leaving it empty."""
    database.prepare_schema(_schema())


def test_settings(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url(tmp_path),
        "SECRET_KEY": "test-secret-key-not-for-production",
        "TOKEN_ENCRYPTION_KEY": "oWv9zY5s6RzqkNq3iBq2pPq6YlqS3m4b8m7m2K3oQxk=",
        "SANDBOX_CLIENT_SECRET": "test-sandbox-client-secret",
        # The Sandbox's own database, one per test whatever database Onramp uses.
        "SANDBOX_DATABASE_URL": f"sqlite:///{tmp_path / 'sandbox.db'}",
        # Ed25519 seed (base64url): signs receipts and checkpoints in tests.
        "CONSENT_SIGNING_KEY": "dGVzdC1jb25zZW50LXNpZ25pbmcta2V5LTMyYnl0ZXM",
        "PUBLIC_URL": "http://localhost",
        "WTF_CSRF_ENABLED": False,
        # `flask demo` keeps the development admin's password here, not in instance/.
        "DEMO_ADMIN_FILE": str(tmp_path / "demo-admin.json"),
    }
    # Migrations run as the owner of the tables, as docs/database-roles.md has it.
    settings["MIGRATION_DATABASE_URL"] = (
        database.role_url(database.OWNER_ROLE, _schema()) if database.admin_url() else None
    )
    settings.update(overrides)
    return settings


_schema_built: set[str] = set()


def reset_database(app: Flask) -> None:
    """Give the test an empty schema, whichever database it runs on.

    On PostgreSQL the schema is built once per test process (whatever an earlier run
    left is dropped first); after that, emptying the tables is enough and much faster.
    """
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            db.create_all()
            return
    schema = _schema()
    tables = [table.name for table in db.metadata.sorted_tables]
    if schema in _schema_built and database.empty_tables(schema, tables):
        return
    database.prepare_schema(schema)
    database.build_tables(app)
    _schema_built.add(schema)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    from app import create_app

    app = create_app(test_settings(tmp_path))
    reset_database(app)
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def ticking(app: Flask) -> None:
    """The default journey as a business that wants a tick per required item has it
    (``agreement: tick``) rather than agreeing by its button."""
    from app.engine.registry import EXTENSION_KEY

    journeys = app.extensions[EXTENSION_KEY]
    journey = journeys["default"]
    steps = [
        step.model_copy(update={"agreement": "tick"}) if step.type == "consent" else step
        for step in journey.steps
    ]
    journeys["default"] = journey.model_copy(update={"steps": steps})


# A helper, not a test, even where a test module imports it by name.
test_settings.__test__ = False  # type: ignore[attr-defined]


class Clock:
    """The app's one clock (app/clock.py), held still until the test moves it."""

    @property
    def now(self) -> datetime:
        return app_clock.now()

    def advance(self, delta: timedelta) -> None:
        app_clock.set_now(app_clock.now() + delta)


@pytest.fixture
def clock() -> Iterator[Clock]:
    """Every timestamp the app takes, from now until the test ends, reads this clock."""
    app_clock.set_now(app_clock.now())
    yield Clock()
    app_clock.set_now(None)


# The hostile-input suite's figures (inputs tried, 5xx seen), printed at the end of any
# run that sent some; here so that a pytest-xdist controller has them too.
from tests.hostile.figures import (  # noqa: E402, F401
    pytest_configure,
    pytest_sessionfinish,
    pytest_terminal_summary,
    pytest_testnodedown,
)

"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import create_engine, inspect, text

from app import create_app
from app.extensions import db
from tests.conftest import fresh_schema, test_settings


def test_migrations_match_the_models(tmp_path: Path) -> None:
    app: Flask = create_app(test_settings(tmp_path))
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            fresh_schema()
        upgrade()
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
            tables = set(inspect(conn).get_table_names())
        db.engine.dispose()
    assert diff == []
    assert {
        "customers",
        "journey_runs",
        "consent_records",
        "connections",
        "journey_events",
    } <= tables
    # The Sandbox is a third-party platform with a database of its own.
    assert {name for name in tables if name.startswith("sandbox")} == set()


def test_migrations_connect_with_migration_database_url_when_it_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The tables' owner migrates; the app's own URL is left alone (docs/database-roles.md).
    owned = tmp_path / "owned.db"
    monkeypatch.setenv("MIGRATION_DATABASE_URL", f"sqlite:///{owned}")
    settings = test_settings(tmp_path, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/app.db")
    del settings["MIGRATION_DATABASE_URL"]
    app: Flask = create_app(settings)
    with app.app_context():
        upgrade()
        app_tables = set(inspect(db.engine).get_table_names())
        db.engine.dispose()
    owned_engine = create_engine(f"sqlite:///{owned}")
    try:
        owned_tables = set(inspect(owned_engine).get_table_names())
    finally:
        owned_engine.dispose()
    assert app.config["MIGRATION_DATABASE_URL"] == f"sqlite:///{owned}"
    assert "consent_records" in owned_tables
    assert app_tables == set()


def test_runs_under_way_keep_their_visit_across_the_upgrade(tmp_path: Path) -> None:
    """A customer refreshing their step just after the upgrade is not counted twice."""
    app: Flask = create_app(test_settings(tmp_path))
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            fresh_schema()
        upgrade(revision="a20se4d11002")
        runs = {"on-welcome": ["entered"], "named-software": ["entered", "not_listed"]}
        runs |= {"left-welcome": ["entered", "completed"], "not-started": []}
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO customers (id, public_id, external_id, name, email, created_at)"
                    " VALUES (1, 'c', 'c', 'C', 'c@example.com', CURRENT_TIMESTAMP)"
                )
            )
            for number, (public_id, kinds) in enumerate(runs.items(), start=1):
                conn.execute(
                    text(
                        "INSERT INTO journey_runs (id, public_id, customer_id, journey_id,"
                        " journey_version, current_step, status, completed_steps, answers,"
                        " locale, created_at, updated_at) VALUES (:id, :public_id, 1,"
                        " 'default', 'v', 'welcome', 'active', '[]', '{}', 'en',"
                        " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                    ),
                    {"id": number, "public_id": public_id},
                )
                for kind in kinds:
                    conn.execute(
                        text(
                            "INSERT INTO journey_events (run_id, step, kind, occurred_at)"
                            " VALUES (:run, 'welcome', :kind, CURRENT_TIMESTAMP)"
                        ),
                        {"run": number, "kind": kind},
                    )
        upgrade()
        with db.engine.connect() as conn:
            visiting = dict(
                conn.execute(text("SELECT public_id, visiting_step FROM journey_runs")).all()
            )
        db.engine.dispose()
    assert visiting == {
        "on-welcome": "welcome",
        "named-software": "welcome",
        "left-welcome": None,
        "not-started": None,
    }

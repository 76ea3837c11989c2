"""The Alembic migrations build exactly the schema the models describe."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import inspect

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

"""Alembic environment: migrate the database of the Flask app Flask-Migrate runs in.

With MIGRATION_DATABASE_URL set, migrations connect as the role that owns the tables
while the app connects as one that owns nothing (docs/database-roles.md).
"""

from __future__ import annotations

from alembic import context
from flask import current_app
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

# Onramp's tables only: the Sandbox keeps its own in a database of its own.
db = current_app.extensions["migrate"].db

owner_url = current_app.config.get("MIGRATION_DATABASE_URL")


def run_migrations_offline() -> None:
    context.configure(
        url=owner_url or db.engine.url.render_as_string(hide_password=False),
        target_metadata=db.metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = create_engine(owner_url, poolclass=NullPool) if owner_url else db.engine
    try:
        with engine.connect() as connection:
            # Batch mode lets later migrations alter tables on SQLite too.
            context.configure(
                connection=connection, target_metadata=db.metadata, render_as_batch=True
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        if owner_url:
            engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

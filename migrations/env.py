"""Alembic environment: migrate the database of the Flask app Flask-Migrate runs in."""

from __future__ import annotations

from alembic import context
from flask import current_app

db = current_app.extensions["migrate"].db
# Import the sandbox's tables too: one schema, one migration history.
import app.sandbox.models  # noqa: E402,F401


def run_migrations_offline() -> None:
    context.configure(
        url=db.engine.url.render_as_string(hide_password=False),
        target_metadata=db.metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    with db.engine.connect() as connection:
        # Batch mode lets later migrations alter tables on SQLite too.
        context.configure(connection=connection, target_metadata=db.metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()

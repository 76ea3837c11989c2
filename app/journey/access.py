"""Which journey run this browser is on: set when a signed link is opened."""

from __future__ import annotations

from flask import session
from sqlalchemy import select

from app.extensions import db
from app.models import JourneyRun

SESSION_RUN = "run"


def remember_run(run: JourneyRun) -> None:
    # Only our key changes: a Sandbox mounted in this app keeps its sign-in here too.
    session[SESSION_RUN] = run.public_id
    session.permanent = True


def current_run() -> JourneyRun | None:
    public_id = session.get(SESSION_RUN)
    if not isinstance(public_id, str):
        return None
    return db.session.scalars(select(JourneyRun).where(JourneyRun.public_id == public_id)).first()

"""What follows when a required consent ends (withdrawn or expired): the connections
that depended on it are disconnected, their tokens revoked at the platform and forgotten."""

from __future__ import annotations

from sqlalchemy import select

from app.connections.lifecycle import disconnect
from app.extensions import db
from app.models import Connection, ConsentRecord

# Connections that still hold, or may again hold, access.
LIVE = ("pending", "linked", "deauthorized", "failed")


def end_dependents(record: ConsentRecord) -> list[Connection]:
    """Disconnect the run's connections when ``record`` ended a required consent.

    An optional item's end leaves connections alone: they never depended on it.
    Commits (each disconnection does); returns the connections ended.
    """
    if not record.required:
        return []
    db.session.commit()
    connections = db.session.scalars(
        select(Connection).where(Connection.run_id == record.run_id, Connection.status.in_(LIVE))
    ).all()
    for connection in connections:
        disconnect(connection)
    return list(connections)

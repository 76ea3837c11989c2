"""consent records refuse update and delete

Revision ID: 7a1e5c0f3b21
Revises: 0baaa3d686ab
Create Date: 2026-11-26 06:30:00

"""
from alembic import op

from app.models import CONSENT_TRIGGERS

# revision identifiers, used by Alembic.
revision = '7a1e5c0f3b21'
down_revision = '0baaa3d686ab'
branch_labels = None
depends_on = None

DROPS = {
    "postgresql": [
        "DROP TRIGGER IF EXISTS consent_records_append_only ON consent_records",
        "DROP FUNCTION IF EXISTS consent_records_append_only()",
    ],
    "sqlite": [
        "DROP TRIGGER IF EXISTS consent_records_no_update",
        "DROP TRIGGER IF EXISTS consent_records_no_delete",
    ],
}


def upgrade():
    bind = op.get_bind()
    for statement in CONSENT_TRIGGERS.get(bind.dialect.name, []):
        op.execute(statement)


def downgrade():
    bind = op.get_bind()
    for statement in DROPS.get(bind.dialect.name, []):
        op.execute(statement)

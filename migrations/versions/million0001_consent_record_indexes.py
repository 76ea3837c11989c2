"""Indexes for the consent ledger's filtered pages at a million records

Revision ID: million0001
Revises: a20se4d11002
Create Date: 2026-12-06 06:30:00.000000

"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "million0001"
down_revision = "a20se4d11002"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_consent_records_decision_id": ["decision", "id"],
    "ix_consent_records_item_id": ["item_key", "id"],
    "ix_consent_records_journey_id": ["journey_id", "id"],
    "ix_consent_records_recorded_at": ["recorded_at"],
}
# The date index also holds what the filters name, so that a date range is read from it alone.
COVERED = ["id", "decision", "item_key", "journey_id", "customer_id"]


def upgrade():
    for name, columns in INDEXES.items():
        extra = {"postgresql_include": COVERED} if name == "ix_consent_records_recorded_at" else {}
        op.create_index(name, "consent_records", columns, **extra)


def downgrade():
    for name in INDEXES:
        op.drop_index(name, table_name="consent_records")

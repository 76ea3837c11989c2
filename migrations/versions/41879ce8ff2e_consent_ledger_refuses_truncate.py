"""consent ledger refuses truncate

Revision ID: 41879ce8ff2e
Revises: 0972f9f470f7
Create Date: 2026-12-04 22:39:03.306658

PostgreSQL's TRUNCATE fires no row trigger: a statement trigger refuses it on
consent_records. The chain head, the ledger's length, refuses DELETE and TRUNCATE, so
that a wiped ledger cannot pass for a new one. (The same triggers as app.models'
LEDGER_WIPE_TRIGGERS, written out here so that this revision never changes.)
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '41879ce8ff2e'
down_revision = '0972f9f470f7'
branch_labels = None
depends_on = None

UPGRADE = {
    "postgresql": [
        """
        CREATE OR REPLACE FUNCTION consent_ledger_refuse_wipe() RETURNS trigger AS $$
        BEGIN
            RAISE EXCEPTION USING MESSAGE = 'the consent ledger is append-only: '
                || TG_OP || ' of ' || TG_TABLE_NAME || ' refused';
        END;
        $$ LANGUAGE plpgsql
        """,
        """
        CREATE TRIGGER consent_records_no_truncate BEFORE TRUNCATE ON consent_records
        FOR EACH STATEMENT EXECUTE FUNCTION consent_ledger_refuse_wipe()
        """,
        """
        CREATE TRIGGER consent_chain_head_no_delete BEFORE DELETE ON consent_chain_head
        FOR EACH ROW EXECUTE FUNCTION consent_ledger_refuse_wipe()
        """,
        """
        CREATE TRIGGER consent_chain_head_no_truncate BEFORE TRUNCATE ON consent_chain_head
        FOR EACH STATEMENT EXECUTE FUNCTION consent_ledger_refuse_wipe()
        """,
    ],
    "sqlite": [
        """
        CREATE TRIGGER consent_chain_head_no_delete BEFORE DELETE ON consent_chain_head
        BEGIN SELECT RAISE(ABORT, 'the consent ledger is append-only (DELETE refused)'); END
        """,
    ],
}

DOWNGRADE = {
    "postgresql": [
        "DROP TRIGGER IF EXISTS consent_chain_head_no_truncate ON consent_chain_head",
        "DROP TRIGGER IF EXISTS consent_chain_head_no_delete ON consent_chain_head",
        "DROP TRIGGER IF EXISTS consent_records_no_truncate ON consent_records",
        "DROP FUNCTION IF EXISTS consent_ledger_refuse_wipe()",
    ],
    "sqlite": ["DROP TRIGGER IF EXISTS consent_chain_head_no_delete"],
}


def upgrade():
    for statement in UPGRADE.get(op.get_bind().dialect.name, []):
        op.execute(statement)


def downgrade():
    for statement in DOWNGRADE.get(op.get_bind().dialect.name, []):
        op.execute(statement)

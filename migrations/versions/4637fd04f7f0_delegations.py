"""delegations

"Ask my accountant to do this": single-use delegated links, and who authorised each
connection (the customer, or the accountant, bookkeeper or other person they asked).

Revision ID: 4637fd04f7f0
Revises: a7c3e5f19d20
Create Date: 2026-12-06 00:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '4637fd04f7f0'
down_revision = 'a7c3e5f19d20'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('connections') as batch_op:
        batch_op.add_column(
            sa.Column('authorised_by_role', sa.String(length=20), nullable=False, server_default='owner')
        )
        batch_op.add_column(sa.Column('authorised_by_name_ciphertext', sa.Text(), nullable=True))
    op.create_table(
        'delegations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('public_id', sa.String(length=36), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('run_id', sa.Integer(), nullable=False),
        sa.Column('token_sha256', sa.String(length=64), nullable=False),
        sa.Column('role', sa.String(length=20), nullable=False),
        sa.Column('personal_ciphertext', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_by', sa.String(length=20), nullable=True),
        sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('connection_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['connection_id'], ['connections.id'], name='fk_delegations_connection_id_connections'),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name='fk_delegations_customer_id_customers'),
        sa.ForeignKeyConstraint(['run_id'], ['journey_runs.id'], name='fk_delegations_run_id_journey_runs'),
        sa.PrimaryKeyConstraint('id', name='pk_delegations'),
        sa.UniqueConstraint('public_id', name='uq_delegations_public_id'),
        sa.UniqueConstraint('token_sha256', name='uq_delegations_token_sha256'),
    )
    op.create_index('ix_delegations_customer_id', 'delegations', ['customer_id'], unique=False)
    op.create_index('ix_delegations_run_id', 'delegations', ['run_id'], unique=False)


def downgrade():
    op.drop_index('ix_delegations_run_id', table_name='delegations')
    op.drop_index('ix_delegations_customer_id', table_name='delegations')
    op.drop_table('delegations')
    with op.batch_alter_table('connections') as batch_op:
        batch_op.drop_column('authorised_by_name_ciphertext')
        batch_op.drop_column('authorised_by_role')

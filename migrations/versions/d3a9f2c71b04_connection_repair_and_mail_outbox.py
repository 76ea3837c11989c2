"""connection repair and mail outbox

A broken connection counts the repair emails sent to its customer and notes when it was
re-linked in place; every customer email waits in an outbox the worker sends from.

Revision ID: d3a9f2c71b04
Revises: f3a9c2d41b86
Create Date: 2026-12-12 09:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd3a9f2c71b04'
down_revision = 'f3a9c2d41b86'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('connections') as batch_op:
        batch_op.add_column(
            sa.Column('repair_reminders_sent', sa.Integer(), server_default='0', nullable=False)
        )
        batch_op.add_column(sa.Column('repair_reminded_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('repaired_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        'mail_outbox',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=30), nullable=False),
        sa.Column('about', sa.String(length=36), nullable=True),
        sa.Column('customer_id', sa.Integer(), nullable=True),
        sa.Column('message_ciphertext', sa.Text(), nullable=True),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.String(length=200), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('mail_outbox') as batch_op:
        batch_op.create_index('ix_mail_outbox_customer_id', ['customer_id'], unique=False)
        batch_op.create_index('ix_mail_outbox_due', ['status', 'next_attempt_at'], unique=False)


def downgrade():
    op.drop_table('mail_outbox')
    with op.batch_alter_table('connections') as batch_op:
        batch_op.drop_column('repaired_at')
        batch_op.drop_column('repair_reminded_at')
        batch_op.drop_column('repair_reminders_sent')

"""Journey links kept: emailed, followed (sent, bounced, opened), revocable, single-use

Revision ID: a20se4d11002
Revises: a20acce55001
Create Date: 2026-12-06 03:20:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a20se4d11002'
down_revision = 'a20acce55001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'journey_links',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('public_id', sa.String(length=36), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('journey_id', sa.String(length=100), nullable=False),
        sa.Column('connection_id', sa.Integer(), nullable=True),
        sa.Column('locale', sa.String(length=20), nullable=True),
        sa.Column('platform', sa.String(length=50), nullable=True),
        sa.Column('return_url', sa.String(length=2000), nullable=True),
        sa.Column('actor_type', sa.String(length=20), nullable=False),
        sa.Column('actor_id', sa.String(length=320), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('single_use', sa.Boolean(), nullable=False),
        sa.Column('mail_message_id', sa.Integer(), nullable=True),
        sa.Column('sent_to', sa.String(length=320), nullable=True),
        sa.Column('opened_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('used_by', sa.String(length=64), nullable=True),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_by', sa.String(length=320), nullable=True),
        sa.Column('replaced_by', sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(
            ['connection_id'], ['connections.id'],
            name=op.f('fk_journey_links_connection_id_connections'),
        ),
        sa.ForeignKeyConstraint(
            ['customer_id'], ['customers.id'], name=op.f('fk_journey_links_customer_id_customers')
        ),
        sa.ForeignKeyConstraint(
            ['mail_message_id'], ['mail_outbox.id'],
            name=op.f('fk_journey_links_mail_message_id_mail_outbox'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_journey_links')),
        sa.UniqueConstraint('public_id', name=op.f('uq_journey_links_public_id')),
    )
    with op.batch_alter_table('journey_links', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_journey_links_customer_id'), ['customer_id'], unique=False
        )


def downgrade():
    with op.batch_alter_table('journey_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_journey_links_customer_id'))
    op.drop_table('journey_links')

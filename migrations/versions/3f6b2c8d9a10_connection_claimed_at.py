"""Connections remember when their callback was claimed, so a stuck attempt can fail

Revision ID: 3f6b2c8d9a10
Revises: 5cae2d56d606
Create Date: 2026-12-04 23:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3f6b2c8d9a10'
down_revision = '5cae2d56d606'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('connections', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('connections', schema=None) as batch_op:
        batch_op.drop_column('claimed_at')

"""connection health

When a connection's refresh token stops working for good, and when the platform was last
asked whether the connection still reaches its organisation.

Revision ID: d41f7a93c2e8
Revises: d3a9f2c71b04
Create Date: 2026-12-12 09:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd41f7a93c2e8'
down_revision = 'd3a9f2c71b04'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('connections') as batch_op:
        batch_op.add_column(sa.Column('refresh_expires_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('health_checked_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('connections') as batch_op:
        batch_op.drop_column('health_checked_at')
        batch_op.drop_column('refresh_expires_at')

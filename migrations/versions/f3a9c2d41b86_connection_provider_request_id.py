"""connection provider request id

The provider's id for the latest call about a connection (Intuit's intuit_tid), for
the vendor's support.

Revision ID: f3a9c2d41b86
Revises: b7d41e0c2a55
Create Date: 2026-12-12 09:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f3a9c2d41b86'
down_revision = 'b7d41e0c2a55'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('connections') as batch_op:
        batch_op.add_column(sa.Column('last_provider_request_id', sa.String(length=100), nullable=True))


def downgrade():
    with op.batch_alter_table('connections') as batch_op:
        batch_op.drop_column('last_provider_request_id')

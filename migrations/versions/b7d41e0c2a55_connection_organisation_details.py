"""connection organisation details

What the business needs beside the organisation id to call the platform for it:
FreshBooks' account_id, Business Central's environment, Xero's connection id.

Revision ID: b7d41e0c2a55
Revises: 9e8c85721a66
Create Date: 2026-12-05 04:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7d41e0c2a55'
down_revision = '9e8c85721a66'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('connections') as batch_op:
        batch_op.add_column(sa.Column('org_details', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('connections') as batch_op:
        batch_op.drop_column('org_details')

"""Webhook endpoints may hold the receiver's public key: payloads then go as a compact JWE

Revision ID: jwe0001webhookkey
Revises: perf2a0visit01
Create Date: 2026-12-06 09:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'jwe0001webhookkey'
down_revision = 'perf2a0visit01'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('webhook_endpoints') as batch_op:
        batch_op.add_column(sa.Column('encryption_jwk', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('webhook_endpoints') as batch_op:
        batch_op.drop_column('encryption_jwk')

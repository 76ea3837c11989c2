"""Webhook endpoints can present a client certificate and pin the receiver's CA (mutual TLS)

Revision ID: mtls0001
Revises: jwe0001webhookkey
Create Date: 2026-12-06 09:45:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'mtls0001'
down_revision = 'jwe0001webhookkey'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('webhook_endpoints') as batch_op:
        batch_op.add_column(sa.Column('client_certificates_ciphertext', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('pinned_ca_pem', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('webhook_endpoints') as batch_op:
        batch_op.drop_column('pinned_ca_pem')
        batch_op.drop_column('client_certificates_ciphertext')

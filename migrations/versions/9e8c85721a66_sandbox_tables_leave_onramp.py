"""sandbox tables leave onramp

The Sandbox plays a third-party platform: it keeps its authorization codes and
tokens in a database of its own (SANDBOX_DATABASE_URL, by default
instance/sandbox.db) and creates its tables there itself. Tokens it issued before
are dropped with these tables: a connection made with them asks to reconnect.

Revision ID: 9e8c85721a66
Revises: 41879ce8ff2e
Create Date: 2026-12-04 23:32:53.959427

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9e8c85721a66'
down_revision = '41879ce8ff2e'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_table('sandbox_tokens')
    op.drop_table('sandbox_authorization_codes')


def downgrade():
    op.create_table('sandbox_authorization_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=120), nullable=False),
    sa.Column('client_id', sa.String(length=100), nullable=False),
    sa.Column('redirect_uri', sa.Text(), nullable=False),
    sa.Column('scope', sa.Text(), nullable=False),
    sa.Column('code_challenge', sa.String(length=128), nullable=False),
    sa.Column('code_challenge_method', sa.String(length=10), nullable=False),
    sa.Column('user_email', sa.String(length=320), nullable=False),
    sa.Column('organisation_id', sa.String(length=36), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('quirks', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sandbox_authorization_codes')),
    sa.UniqueConstraint('code', name=op.f('uq_sandbox_authorization_codes_code'))
    )
    op.create_table('sandbox_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.String(length=100), nullable=False),
    sa.Column('token_type', sa.String(length=40), nullable=False),
    sa.Column('access_token', sa.String(length=255), nullable=False),
    sa.Column('refresh_token', sa.String(length=255), nullable=True),
    sa.Column('scope', sa.Text(), nullable=False),
    sa.Column('user_email', sa.String(length=320), nullable=False),
    sa.Column('organisation_id', sa.String(length=36), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_in', sa.Integer(), nullable=False),
    sa.Column('access_token_revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('refresh_token_revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sandbox_tokens')),
    sa.UniqueConstraint('access_token', name=op.f('uq_sandbox_tokens_access_token')),
    sa.UniqueConstraint('refresh_token', name=op.f('uq_sandbox_tokens_refresh_token'))
    )

"""connection provider user role

Who signed in at the platform and their role in the organisation, where the platform
reports them: a role too weak for the access asked is refused (role_too_weak).

Revision ID: a7c3e91d5b20
Revises: d41f7a93c2e8
Create Date: 2026-12-06 00:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7c3e91d5b20'
down_revision = 'd41f7a93c2e8'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('connections') as batch_op:
        batch_op.add_column(sa.Column('provider_user', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('provider_user_role', sa.String(length=100), nullable=True))


def downgrade():
    with op.batch_alter_table('connections') as batch_op:
        batch_op.drop_column('provider_user_role')
        batch_op.drop_column('provider_user')

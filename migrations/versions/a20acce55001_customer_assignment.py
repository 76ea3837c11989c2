"""Who sees whom: a customer's assigned colleague, and colleagues who see only their own

Revision ID: a20acce55001
Revises: c5e1f0a2b3d4
Create Date: 2026-12-06 03:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a20acce55001'
down_revision = 'c5e1f0a2b3d4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assigned_user_id', sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f('ix_customers_assigned_user_id'), ['assigned_user_id'], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f('fk_customers_assigned_user_id_users'), 'users', ['assigned_user_id'], ['id']
        )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                'own_customers_only', sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('own_customers_only')
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f('fk_customers_assigned_user_id_users'), type_='foreignkey'
        )
        batch_op.drop_index(batch_op.f('ix_customers_assigned_user_id'))
        batch_op.drop_column('assigned_user_id')

"""Files customers upload instead of connecting, encrypted with their own key

Revision ID: a7c3e5f19d20
Revises: a7c3e91d5b20
Create Date: 2026-12-05 23:59:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7c3e5f19d20'
down_revision = 'a7c3e91d5b20'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'uploads',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('public_id', sa.String(length=36), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('run_id', sa.Integer(), nullable=False),
        sa.Column('step', sa.String(length=100), nullable=False),
        sa.Column('filename', sa.String(length=255), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('content_type', sa.String(length=100), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('content_ciphertext', sa.LargeBinary(), nullable=False),
        sa.Column('covered_by', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['customer_id'], ['customers.id'], name=op.f('fk_uploads_customer_id_customers')
        ),
        sa.ForeignKeyConstraint(
            ['run_id'], ['journey_runs.id'], name=op.f('fk_uploads_run_id_journey_runs')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_uploads')),
        sa.UniqueConstraint('public_id', name=op.f('uq_uploads_public_id')),
    )
    with op.batch_alter_table('uploads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_uploads_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_uploads_run_id'), ['run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_uploads_created_at'), ['created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('uploads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_uploads_created_at'))
        batch_op.drop_index(batch_op.f('ix_uploads_run_id'))
        batch_op.drop_index(batch_op.f('ix_uploads_customer_id'))
    op.drop_table('uploads')

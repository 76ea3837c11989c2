"""What customers thought of their journey: a rating and a one-line comment per run

Revision ID: c5e1f0a2b3d4
Revises: 4637fd04f7f0
Create Date: 2026-12-06 01:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c5e1f0a2b3d4'
down_revision = '4637fd04f7f0'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'journey_feedback',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('public_id', sa.String(length=36), nullable=False),
        sa.Column('run_id', sa.Integer(), nullable=False),
        sa.Column('customer_id', sa.Integer(), nullable=False),
        sa.Column('journey_id', sa.String(length=100), nullable=False),
        sa.Column('journey_version', sa.String(length=64), nullable=False),
        sa.Column('step', sa.String(length=20), nullable=False),
        sa.Column('rating', sa.Integer(), nullable=False),
        sa.Column('comment', sa.String(length=300), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['customer_id'], ['customers.id'],
            name=op.f('fk_journey_feedback_customer_id_customers'),
        ),
        sa.ForeignKeyConstraint(
            ['run_id'], ['journey_runs.id'], name=op.f('fk_journey_feedback_run_id_journey_runs')
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_journey_feedback')),
        sa.UniqueConstraint('public_id', name=op.f('uq_journey_feedback_public_id')),
        sa.UniqueConstraint('run_id', name=op.f('uq_journey_feedback_run_id')),
    )
    with op.batch_alter_table('journey_feedback', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_journey_feedback_customer_id'), ['customer_id'], unique=False
        )
        batch_op.create_index(
            batch_op.f('ix_journey_feedback_created_at'), ['created_at'], unique=False
        )
        batch_op.create_index(
            'ix_journey_feedback_journey', ['journey_id', 'journey_version'], unique=False
        )


def downgrade():
    with op.batch_alter_table('journey_feedback', schema=None) as batch_op:
        batch_op.drop_index('ix_journey_feedback_journey')
        batch_op.drop_index(batch_op.f('ix_journey_feedback_created_at'))
        batch_op.drop_index(batch_op.f('ix_journey_feedback_customer_id'))
    op.drop_table('journey_feedback')

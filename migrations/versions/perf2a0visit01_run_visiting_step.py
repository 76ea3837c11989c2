"""Journey runs know the step whose visit is under way (a refresh reads no event)

Revision ID: perf2a0visit01
Revises: million0001
Create Date: 2026-12-06 07:15:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'perf2a0visit01'
down_revision = 'million0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('journey_runs') as batch_op:
        batch_op.add_column(sa.Column('visiting_step', sa.String(length=100), nullable=True))
    # A run whose last event is "entered" or "not_listed" is on that step's visit.
    op.execute(
        """
        UPDATE journey_runs SET visiting_step = (
            SELECT e.step FROM journey_events e
            WHERE e.run_id = journey_runs.id AND e.kind IN ('entered', 'not_listed')
            AND e.id = (SELECT max(l.id) FROM journey_events l WHERE l.run_id = journey_runs.id)
        )
        """
    )


def downgrade():
    with op.batch_alter_table('journey_runs') as batch_op:
        batch_op.drop_column('visiting_step')

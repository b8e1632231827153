"""alert lifecycle steps, for outbox keys that name what a message tells

An alert message's outbox key used to carry the run's time to the second, so two runs of a
rule within one second made the same key, the second message was dropped as a duplicate and
its alerts were marked told all the same. The key is now derived from the alerts a message
tells and the lifecycle step each is at; this column holds that step.

Revision ID: 0003_alert_steps
Revises: 0002_alert_indexes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_alert_steps"
down_revision = "0002_alert_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alert_states") as batch_op:
        batch_op.add_column(sa.Column("step", sa.BigInteger(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("alert_states") as batch_op:
        batch_op.drop_column("step")

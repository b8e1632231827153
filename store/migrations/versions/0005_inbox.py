"""the inbox: every update and event, stored before it is acknowledged

Updates used to be acknowledged to the platform first and then handled from memory: a crash
lost them, a redelivery was handled twice, and replicas could not share the work. Each
delivery is now a row keyed by the platform's own id, written before the acknowledgement and
marked done in the transaction that handles it.

Revision ID: 0005_inbox
Revises: 0004_one_open_ticket
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_inbox"
down_revision = "0004_one_open_ticket"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("user_key", sa.String(130), nullable=False),
        sa.Column("message", sa.JSON(), nullable=False),
        sa.Column("route", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("accepted_at", sa.DateTime(), nullable=False),
        sa.Column("available_at", sa.DateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("done_at", sa.DateTime(), nullable=True),
        sa.UniqueConstraint("channel", "key", name="uq_inbox_delivery"),
    )
    op.create_index("ix_inbox_due", "inbox", ["state", "available_at"])
    op.create_index("ix_inbox_user", "inbox", ["user_key", "state", "id"])


def downgrade() -> None:
    op.drop_index("ix_inbox_user", table_name="inbox")
    op.drop_index("ix_inbox_due", table_name="inbox")
    op.drop_table("inbox")

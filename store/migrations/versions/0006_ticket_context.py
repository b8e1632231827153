"""the conversation that led to a ticket, kept with it

A ticket used to start with the message that escalated it ("/human" for the button), and the
complaint the customer wrote just before was lost to staff. The last lines of the conversation
before the handoff are now copied into the ticket's transcript, marked ``before_handoff`` so
the card can show them apart from what the customer wrote to the team.

Revision ID: 0006_ticket_context
Revises: 0005_inbox
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_ticket_context"
down_revision = "0005_inbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ticket_messages") as batch_op:
        batch_op.add_column(
            sa.Column("before_handoff", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("ticket_messages") as batch_op:
        batch_op.drop_column("before_handoff")

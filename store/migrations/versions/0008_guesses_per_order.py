"""wrong proofs counted per order and in all, not only per contact

Failures were counted per contact and any success wiped them: an attacker with orders of
their own got fresh guesses, and thirty accounts with five guesses each could try 150
postcodes on one victim's order. Each failure now names the order guessed at (existing or
not), so guesses are limited per order whoever makes them, and in all per minute.

Revision ID: 0008_guesses_per_order
Revises: 0007_order_id_key
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_guesses_per_order"
down_revision = "0007_order_id_key"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("verification_failures") as batch_op:
        batch_op.add_column(sa.Column("order_key", sa.String(40), nullable=True))
    op.create_index(
        "ix_verification_failures_order_at", "verification_failures", ["order_key", "at"]
    )
    op.create_index("ix_verification_failures_at", "verification_failures", ["at"])


def downgrade() -> None:
    op.drop_index("ix_verification_failures_at", table_name="verification_failures")
    op.drop_index("ix_verification_failures_order_at", table_name="verification_failures")
    with op.batch_alter_table("verification_failures") as batch_op:
        batch_op.drop_column("order_key")

"""order ids looked up in any case: an index on upper(id)

Shops write order ids with letters ("SZ-20001", "A1B2C3"), and customers and staff type them in
any case. Lookups compare ``upper(id)`` with the upper-cased id typed (``store/orders.py``);
this expression index answers that comparison on SQLite and PostgreSQL alike, so a look-up stays
one index probe however many orders the shop has.

Revision ID: 0007_order_id_key
Revises: 0006_ticket_context
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_order_id_key"
down_revision = "0006_ticket_context"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_orders_id_key", "orders", [sa.text("upper(id)")])


def downgrade() -> None:
    op.drop_index("ix_orders_id_key", table_name="orders")

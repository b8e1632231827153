"""at most one open ticket per contact, held by the database

Handlers join a contact's open ticket rather than open another, but two transactions that
escalate the same contact at once (two replicas, two batches) both found none and both opened
one. A partial unique index over the open and claimed tickets lets the database refuse the
second; the handler then joins the ticket that won (ON CONFLICT DO NOTHING, then select).

Contacts that already have several open tickets keep the newest open (the one handlers have
been adding to); the older ones are resolved now, so the index can be built.

Revision ID: 0004_one_open_ticket
Revises: 0003_alert_steps
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0004_one_open_ticket"
down_revision = "0003_alert_steps"
branch_labels = None
depends_on = None

OPEN_TICKET = "state IN ('open', 'claimed')"


def upgrade() -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    op.get_bind().execute(
        sa.text(
            "UPDATE tickets SET state = 'resolved', resolved_at = :now "
            f"WHERE {OPEN_TICKET} AND id < (SELECT max(newer.id) FROM tickets newer "
            "WHERE newer.contact_id = tickets.contact_id "
            "AND newer.state IN ('open', 'claimed'))"
        ).bindparams(sa.bindparam("now", now, type_=sa.DateTime()))
    )
    op.create_index(
        "uq_tickets_one_open",
        "tickets",
        ["contact_id"],
        unique=True,
        sqlite_where=sa.text(OPEN_TICKET),
        postgresql_where=sa.text(OPEN_TICKET),
    )


def downgrade() -> None:
    op.drop_index("uq_tickets_one_open", table_name="tickets")

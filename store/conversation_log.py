"""The conversation log: what customers wrote, what the bot decided and what it answered.

Entries are kept on the session and written with one INSERT when its transaction commits: a
burst of messages handled in one transaction writes its whole log in one statement instead of
an ORM object and a flush per line. Nothing on the message path reads the log back, and a
rolled-back transaction forgets its entries with everything else.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Table, event, insert
from sqlalchemy.orm import Session

from store.models import ConversationEntry

_PENDING = "crossdesk.conversation_log"
MAX_TEXT = 4000


def log_entry(
    session: Session,
    *,
    contact_id: int,
    direction: str,
    text: str,
    language: str | None,
    created_at: datetime,
    action: str | None = None,
    intent: str | None = None,
    confidence: float | None = None,
) -> None:
    """Add one line to the log, written when ``session``'s transaction commits."""
    session.info.setdefault(_PENDING, []).append(
        {
            "contact_id": contact_id,
            "direction": direction,
            "text": text[:MAX_TEXT],
            "language": language,
            "action": action,
            "intent": intent,
            "confidence": confidence,
            "created_at": created_at,
        }
    )


@event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    entries = session.info.pop(_PENDING, None)
    if entries:
        # the table, not the mapped class: a plain executemany, without the ORM's bulk path
        session.connection().execute(insert(cast(Table, ConversationEntry.__table__)), entries)


@event.listens_for(Session, "after_rollback")
def _forget_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)

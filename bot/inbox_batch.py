"""One batch of inbox rows through the router: the router's hooks (``BatchHooks``) that take
the rows in the batch's transaction, record each message's replies in the outbox, and hand a
message that failed on its own back to the worker; and what the batch leaves to send.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from handlers.messages import IncomingMessage, Reply
from store import inbox
from store.models import InboxItem

if TYPE_CHECKING:
    from bot.inbox_worker import InboxWorker


@dataclass
class Handled:
    """A message taken from the inbox in a committed batch, and its recorded replies."""

    item_id: int
    user_key: str
    replies: list[tuple[int, dict[str, Any]]] = field(default_factory=list)


class BatchOfRows:
    """The router's hooks for one batch of inbox rows (``handlers.router.BatchHooks``)."""

    def __init__(self, worker: InboxWorker, rows: list[InboxItem]) -> None:
        self.worker = worker
        self.messages = [IncomingMessage.from_record(row.message) for row in rows]
        self._rows = {id(m): row for m, row in zip(self.messages, rows, strict=True)}
        self.handled: dict[int, Handled] = {}

    def _row(self, message: IncomingMessage) -> InboxItem:
        return self._rows[id(message)]

    def claim(self, session: Session, messages: Sequence[IncomingMessage]) -> set[int]:
        rows = [self._row(m) for m in messages]
        worker = self.worker
        taken = inbox.take(session, [row.id for row in rows], worker.clock(), worker.reply_lease)
        for row in rows:
            self.handled.pop(row.id, None)  # a retried transaction records afresh
        return {index for index, row in enumerate(rows) if row.id not in taken}

    def record(
        self,
        session: Session,
        messages: Sequence[IncomingMessage],
        replies: Sequence[list[Reply] | None],
    ) -> None:
        silent: list[int] = []
        answered: list[tuple[IncomingMessage, InboxItem, list[Reply]]] = []
        for message, answer in zip(messages, replies, strict=True):
            if answer is None:
                continue
            row = self._row(message)
            if answer:
                answered.append((message, row, answer))
            else:  # nothing to send: the person's next message may go at once
                silent.append(row.id)
        inbox.finish(session, silent)
        recorded = self.worker.record_replies(
            session, [(message, row.route or {}, answer) for message, row, answer in answered]
        )
        for (_, row, _), own in zip(answered, recorded, strict=True):
            self.handled[row.id] = Handled(row.id, row.user_key, own)

    def failed(self, message: IncomingMessage, error: Exception) -> bool:
        row = self._row(message)
        self.handled.pop(row.id, None)
        self.worker.give_back(row, message, error)
        return True

"""What handlers need from the world, handed in by the composition root (``bot/app.py``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from handlers.settings import HandoffSettings, SupportSettings
from knowledge.classifier import Classifier
from knowledge.kb import KnowledgeBase
from knowledge.texts import Texts
from knowledge.translation import Translator
from store import outbox
from store.clock import Clock, utcnow


@dataclass
class Services:
    """The store, the knowledge, the clock and where staff read their messages."""

    sessions: sessionmaker[Session]
    kb: KnowledgeBase
    classifier: Classifier
    texts: Texts
    translator: Translator
    support: SupportSettings
    staff_channels: list[str] = field(default_factory=list)
    clock: Clock = utcnow
    handoff: HandoffSettings = field(default_factory=HandoffSettings)

    def notify_staff(
        self, session: Session, kind: str, payload: dict[str, Any], *, dedupe_key: str | None = None
    ) -> None:
        """Queue ``payload`` for the staff destination of every staff channel, in ``session``."""
        now = self.clock()
        for channel in self.staff_channels:
            outbox.enqueue(
                session,
                channel=channel,
                kind=kind,
                payload={"to": "staff", **payload},
                now=now,
                dedupe_key=f"{dedupe_key}:{channel}" if dedupe_key else None,
            )

    def notify_chat(
        self, session: Session, channel: str, chat_id: str, kind: str, payload: dict[str, Any]
    ) -> None:
        """Queue ``payload`` for one chat (e.g. a customer) on ``channel``, in ``session``."""
        outbox.enqueue(
            session,
            channel=channel,
            kind=kind,
            payload={"to": chat_id, **payload},
            now=self.clock(),
        )

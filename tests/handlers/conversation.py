"""Talking to the Router as a channel would, for handler tests."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.app import App
from handlers.messages import IncomingMessage, MessageKind, Reply
from store.models import OutboxMessage


def say(app: App, text: str, user: str = "c1", **extra: Any) -> list[Reply]:
    """A customer (or, with is_staff/in_staff_chat, a staff member) writes ``text``."""
    chat = extra.pop("chat_id", "staff" if extra.get("in_staff_chat") else user)
    message = IncomingMessage.from_text("console", user, chat, text, **extra)
    return app.router.handle(message)


def press(app: App, action: str, user: str = "c1", **extra: Any) -> list[Reply]:
    """Someone presses a button whose action is ``action``."""
    chat = extra.pop("chat_id", "staff" if extra.get("in_staff_chat") else user)
    message = IncomingMessage(
        "console", user, chat, kind=MessageKind.BUTTON, action=action, **extra
    )
    return app.router.handle(message)


def outbox_rows(app: App, kind: str | None = None) -> list[OutboxMessage]:
    with app.sessions() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if kind:
            query = query.where(OutboxMessage.kind == kind)
        return list(session.scalars(query))

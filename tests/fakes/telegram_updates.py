"""Updates for the fake Bot API: what customers and staff do, as Telegram would deliver it.

:class:`UpdateFactory` builds messages, photos, stickers, edits and button presses with the
ids Telegram would give them, and queues them for ``getUpdates``; it also remembers what the
bot sent (:class:`SentMessage`) so that a test can reply to or press a button on it.
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class SentMessage:
    """A message the bot sent (or last edited), as a chat member would see it."""

    chat_id: int
    message_id: int
    text: str  # visible text (markup parsed)
    raw_text: str  # as sent
    parse_mode: str | None
    buttons: list[list[tuple[str, str]]] = field(default_factory=list)  # (label, callback_data)
    reply_to: int | None = None
    disable_notification: bool = False
    edits: int = 0
    at: float = field(default_factory=time.monotonic)  # when the fake accepted it


class UpdateFactory:
    """Builds updates and keeps the queue of those not yet confirmed by the bot."""

    def __init__(self, bot_id: int) -> None:
        self.bot_id = bot_id
        self.updates: list[dict[str, Any]] = []  # pending, unconfirmed
        self.returned: Counter[int] = Counter()  # update_id -> times returned by getUpdates
        self._update_ids = itertools.count(1)
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._callback_ids = itertools.count(1)
        self._open_callbacks: set[str] = set()
        self._new_update = asyncio.Event()

    def push(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update (its update_id is assigned here) and wake any long poll."""
        update = {"update_id": next(self._update_ids), **update}
        query = update.get("callback_query")
        if isinstance(query, dict) and "id" in query:
            self._open_callbacks.add(str(query["id"]))  # Telegram waits for its answer
        self.updates.append(update)
        self._new_update.set()
        return update

    def user(self, user_id: int, *, language_code: str | None = "en", name: str = "") -> dict:
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": name or f"U{user_id}"}
        if language_code:
            user["language_code"] = language_code
        return user

    def chat(self, chat_id: int) -> dict[str, Any]:
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": f"U{chat_id}"}
        return {"id": chat_id, "type": "supergroup", "title": f"Group {chat_id}"}

    def _next_message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def message(self, user_id: int, text: str | None = None, **options: Any) -> dict[str, Any]:
        """Push a message from ``user_id`` (see :meth:`build_message`); returns the update."""
        return self.push(self.build_message(user_id, text, **options))

    def build_message(
        self,
        user_id: int,
        text: str | None = None,
        *,
        chat_id: int | None = None,
        language_code: str | None = "en",
        reply_to: SentMessage | dict[str, Any] | None = None,
        edited: bool = False,
        entities: list[dict[str, Any]] | None = None,
        name: str = "",
        **content: Any,
    ) -> dict[str, Any]:
        """An update (no id yet) with a message from ``user_id`` in ``chat_id`` (default: their
        private chat); ``content`` adds fields such as ``photo`` or ``sticker``."""
        chat_id = user_id if chat_id is None else chat_id
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat_id),
            "date": int(time.time()),
            "chat": self.chat(chat_id),
            "from": self.user(user_id, language_code=language_code, name=name),
            **content,
        }
        if text is not None:
            message["text"] = text
            commands = re.match(r"^/[A-Za-z0-9_]+(@\w+)?", text)
            if commands and entities is None:
                entities = [{"type": "bot_command", "offset": 0, "length": commands.end()}]
        if entities:
            message["entities"] = entities
        if isinstance(reply_to, SentMessage):
            message["reply_to_message"] = self._message_json(reply_to)
        elif reply_to is not None:
            message["reply_to_message"] = reply_to
        if edited:
            message["edit_date"] = int(time.time())
        return {"edited_message" if edited else "message": message}

    def photo(self, user_id: int, caption: str | None = None, **extra: Any) -> dict[str, Any]:
        """Push a photo (with an optional caption) from ``user_id``."""
        size = {"file_id": "AgAD", "file_unique_id": "AQAD", "width": 90, "height": 90}
        content: dict[str, Any] = {"photo": [size]}
        if caption is not None:
            content["caption"] = caption
        return self.message(user_id, None, **content, **extra)

    def sticker(self, user_id: int, **extra: Any) -> dict[str, Any]:
        sticker = {
            "file_id": "CAAD",
            "file_unique_id": "AgAD",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
        return self.message(user_id, None, sticker=sticker, **extra)

    def press(
        self, user_id: int, data: str, message: SentMessage, *, language_code: str | None = "en"
    ) -> dict[str, Any]:
        """Push a button press on ``message`` (one the bot sent)."""
        query_id = str(next(self._callback_ids))
        return self.push(
            {
                "callback_query": {
                    "id": query_id,
                    "from": self.user(user_id, language_code=language_code),
                    "message": self._message_json(message),
                    "chat_instance": str(message.chat_id),
                    "data": data,
                }
            }
        )

    def _message_json(self, message: SentMessage) -> dict[str, Any]:
        data: dict[str, Any] = {
            "message_id": message.message_id,
            "date": int(time.time()),
            "chat": self.chat(message.chat_id),
            "from": {"id": self.bot_id, "is_bot": True, "first_name": "CrossDesk test"},
            "text": message.text,
        }
        if message.buttons:
            data["reply_markup"] = {
                "inline_keyboard": [
                    [{"text": label, "callback_data": action} for label, action in row]
                    for row in message.buttons
                ]
            }
        return data

"""Telegram updates as :class:`IncomingMessage`, and the order they are processed in.

Only translation happens here, no decisions about what to answer: who wrote (the staff list
and the staff group decide ``is_staff``), where (the staff group, a private chat, or another
group, which the bot hears only when it is mentioned), and what (text, a command, a pressed
button, an edited message, or a photo/sticker/voice note, which the router answers with
"please write text").
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

from telegram import Message, MessageEntity, Update
from telegram.constants import ChatType
from telegram.ext import BaseUpdateProcessor

from handlers.messages import IncomingMessage, MessageKind

CHANNEL = "telegram"
ALLOWED_UPDATES = (Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY)
_COMMAND_TARGET = re.compile(r"^/[A-Za-z0-9_]+@([A-Za-z0-9_]+)")


@dataclass(frozen=True)
class Audience:
    """What the translation needs to know: the bot itself, the staff group and staff users."""

    bot_id: int
    bot_username: str
    staff_chat_id: int | None = None
    staff_user_ids: frozenset[int] = field(default_factory=frozenset)
    customers: bool = True


def to_incoming(update: Update, who: Audience) -> IncomingMessage | None:
    """The IncomingMessage for ``update``, or None if the bot should not react to it."""
    if update.callback_query is not None:
        return _button(update, who)
    message = update.message or update.edited_message
    if message is None or message.from_user is None or message.from_user.is_bot:
        return None
    user, chat = message.from_user, message.chat
    in_staff_chat = who.staff_chat_id is not None and chat.id == who.staff_chat_id
    is_staff = user.id in who.staff_user_ids or in_staff_chat
    text = message.text
    if chat.type != ChatType.PRIVATE and not in_staff_chat:
        if text is None or not addressed_to_bot(message, who):
            return None  # a group that is not the staff group: only when spoken to
        text = _without_mention(text, who.bot_username)
    elif chat.type == ChatType.PRIVATE and not who.customers and not is_staff:
        return None
    if text is not None and not _command_for_us(text, who.bot_username):
        return None  # /command@another_bot
    extra: dict[str, Any] = {
        "display_name": user.full_name or user.username,
        "language_hint": user.language_code,
        "is_staff": is_staff,
        "in_staff_chat": in_staff_chat,
        "message_id": str(message.message_id),
        "private_chat_id": str(user.id),  # a user's private chat with a bot has their id
    }
    if in_staff_chat and message.reply_to_message is not None:
        extra["thread_id"] = str(message.reply_to_message.message_id)
    user_id, chat_id = str(user.id), str(chat.id)
    if text is None:
        if in_staff_chat or message.effective_attachment is None:
            return None  # staff sharing a picture, or a service message (joins, pins)
        return IncomingMessage(
            CHANNEL, user_id, chat_id, message.caption or "", MessageKind.NON_TEXT, **extra
        )
    return IncomingMessage.from_text(CHANNEL, user_id, chat_id, text, **extra)


def _button(update: Update, who: Audience) -> IncomingMessage | None:
    query = update.callback_query
    assert query is not None
    if not query.data:
        return None
    user = query.from_user
    chat = query.message.chat if query.message is not None else None
    chat_id = chat.id if chat is not None else user.id
    in_staff_chat = who.staff_chat_id is not None and chat_id == who.staff_chat_id
    return IncomingMessage(
        CHANNEL,
        str(user.id),
        str(chat_id),
        kind=MessageKind.BUTTON,
        action=query.data,
        display_name=user.full_name or user.username,
        language_hint=user.language_code,
        is_staff=user.id in who.staff_user_ids or in_staff_chat,
        in_staff_chat=in_staff_chat,
        message_id=str(query.message.message_id) if query.message is not None else None,
        private_chat_id=str(user.id),
    )


def addressed_to_bot(message: Message, who: Audience) -> bool:
    """Whether a group message mentions the bot, commands it, or replies to it."""
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == who.bot_id:
        return True
    handle = f"@{who.bot_username}".lower()
    for entity, value in entity_texts(message):
        if entity.type == MessageEntity.MENTION and value.lower() == handle:
            return True
        if (
            entity.type == MessageEntity.TEXT_MENTION
            and entity.user
            and entity.user.id == who.bot_id
        ):
            return True
        if entity.type == MessageEntity.BOT_COMMAND and value.lower().endswith(handle):
            return True
    return False


def entity_texts(message: Message) -> list[tuple[MessageEntity, str]]:
    """Each entity of ``message`` with the text it covers.

    Like python-telegram-bot's ``parse_entities``, which counts in UTF-16 as Telegram does,
    but a lone surrogate in the text (which Telegram does deliver) is carried through instead
    of raising UnicodeEncodeError; an entity pointing past the text covers what there is.
    """
    encoded = (message.text or "").encode("utf-16-le", "surrogatepass")
    found = []
    for entity in message.entities:
        start, end = 2 * entity.offset, 2 * (entity.offset + entity.length)
        found.append((entity, encoded[start:end].decode("utf-16-le", "surrogatepass")))
    return found


def _without_mention(text: str, username: str) -> str:
    if text.lstrip().startswith("/"):
        return text  # /command@bot is parsed as a command with the suffix
    return re.sub(rf"@{re.escape(username)}\b", "", text, flags=re.IGNORECASE).strip()


def _command_for_us(text: str, username: str) -> bool:
    target = _COMMAND_TARGET.match(text.strip())
    return target is None or target.group(1).lower() == username.lower()


def chat_key(update: object) -> int | None:
    """The chat an update belongs to (its updates must keep their order)."""
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return update.effective_chat.id
    return update.effective_user.id if update.effective_user is not None else None


class ChatOrderedUpdates(BaseUpdateProcessor):
    """Many chats at once, each chat's updates one after another in arrival order.

    A customer who sends an order number and then the e-mail address right after must have
    them handled in that order; different customers need not wait for each other.
    """

    def __init__(self, max_concurrent_updates: int) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: Counter[int] = Counter()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = chat_key(update)
        if key is None:
            await coroutine
            return
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] += 1
        try:
            async with lock:
                await coroutine
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:
                del self._waiting[key], self._locks[key]

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""

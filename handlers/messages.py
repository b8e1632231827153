"""The contract between channels and handlers.

A channel (Telegram, Slack, the console) turns a platform update into an
:class:`IncomingMessage`, calls the one handler entry point, and renders the :class:`Reply`
objects it gets back in the platform's own markup. Nothing below the channels knows which
platform a message came from; the ``channel`` field is an opaque name used only to address
answers and to key contacts.

Every field is made valid and bounded when the message is made (``handlers/input_bounds.py``):
whatever a platform delivers, handlers, their regexes and the store see clean text of at most
``MAX_TEXT_CHARS`` characters, names and ids that fit their columns, and button actions of a
sane length.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any

from handlers import input_bounds


class MessageKind(StrEnum):
    """What the sender did."""

    TEXT = "text"
    COMMAND = "command"
    BUTTON = "button"
    NON_TEXT = "non_text"  # a photo, sticker, voice note, file...


@dataclass(frozen=True)
class Command:
    """A slash command: ``/order 10234`` is ``Command("order", ("10234",))``."""

    name: str
    args: tuple[str, ...] = ()

    @property
    def arg_text(self) -> str:
        """The arguments joined back with spaces."""
        return " ".join(self.args)


# Telegram's command names are letters, digits and "_"; Slack's may hold "-" too
_COMMAND = re.compile(
    r"^/([A-Za-z0-9_][A-Za-z0-9_-]{0,31})(?:@[A-Za-z0-9_]+)?(?:\s+(.*))?$", re.DOTALL
)


def parse_command(text: str) -> Command | None:
    """Parse ``/name args`` (Telegram's ``/name@botname`` too); None if ``text`` is no command."""
    match = _COMMAND.match(text.strip())
    if match is None:
        return None
    return Command(match.group(1).lower(), tuple((match.group(2) or "").split()))


@dataclass(frozen=True)
class Button:
    """An inline button. ``action`` comes back as an IncomingMessage of kind BUTTON."""

    label: str
    action: str


@dataclass(frozen=True)
class IncomingMessage:
    """One thing a person did in a chat, free of any platform detail."""

    channel: str  # "telegram", "slack", "console": opaque to handlers
    user_id: str
    chat_id: str
    text: str = ""
    kind: MessageKind = MessageKind.TEXT
    command: Command | None = None
    action: str | None = None  # the Button.action of a pressed button
    display_name: str | None = None
    language_hint: str | None = None  # the platform's idea of the user's language
    is_staff: bool = False  # the channel checked it against its staff list
    in_staff_chat: bool = False  # written in the staff group/channel
    thread_id: str | None = None  # the staff-side message this one answers (a thread/reply)
    message_id: str | None = None
    truncated: bool = False  # the text was longer than MAX_TEXT_CHARS and was cut
    # where the sender is reached one to one (their private chat, a Slack DM): a ticket's
    # replies and order details go there, never to the group the message was written in
    private_chat_id: str | None = None

    def __post_init__(self) -> None:
        """Bound and clean every field a platform filled (see ``handlers/input_bounds.py``)."""
        bounds = input_bounds
        text, cut = bounds.clean_text(self.text)
        values: dict[str, object] = {
            "text": text,
            "truncated": self.truncated or cut,
            "user_id": bounds.platform_id(self.user_id),
            "chat_id": bounds.platform_id(self.chat_id),
            "display_name": bounds.display_name(self.display_name),
            "language_hint": bounds.language_tag(self.language_hint),
            "thread_id": bounds.optional_id(self.thread_id),
            "message_id": bounds.optional_id(self.message_id),
            "private_chat_id": bounds.optional_id(self.private_chat_id),
            "action": bounds.button_action(self.action),
        }
        for name, value in values.items():
            if value is not getattr(self, name):
                object.__setattr__(self, name, value)

    def as_record(self) -> dict[str, Any]:
        """The message as plain JSON data, to store it (the inbox) and read it back later."""
        record: dict[str, Any] = {
            field.name: getattr(self, field.name)
            for field in fields(self)
            if field.name not in ("kind", "command")
        }
        record["kind"] = self.kind.value
        if self.command is not None:
            record["command"] = [self.command.name, list(self.command.args)]
        return record

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> IncomingMessage:
        """The message :meth:`as_record` stored."""
        values = dict(record)
        values["kind"] = MessageKind(values.get("kind", MessageKind.TEXT))
        command = values.pop("command", None)
        values["command"] = Command(command[0], tuple(command[1])) if command else None
        return cls(**values)

    @classmethod
    def from_text(
        cls, channel: str, user_id: str, chat_id: str, text: str, **extra: object
    ) -> IncomingMessage:
        """A text message, or a command if ``text`` starts with ``/``."""
        text, cut = input_bounds.clean_text(text)  # the command is read from the clean text
        if cut:
            extra["truncated"] = True
        command = parse_command(text) if text.lstrip().startswith("/") else None
        kind = MessageKind.COMMAND if command else MessageKind.TEXT
        return cls(channel, user_id, chat_id, text, kind, command, **extra)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Reply:
    """An answer to the sender, in plain text (channels escape it for their markup)."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()  # rows of buttons
    language: str | None = None
    private: bool = False  # holds personal data: ephemeral where the platform can do it

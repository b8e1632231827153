"""The contract between channels and handlers.

A channel (Telegram, Slack, the console) turns a platform update into an
:class:`IncomingMessage`, calls the one handler entry point, and renders the :class:`Reply`
objects it gets back in the platform's own markup. Nothing below the channels knows which
platform a message came from; the ``channel`` field is an opaque name used only to address
answers and to key contacts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


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


_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@[A-Za-z0-9_]+)?(?:\s+(.*))?$", re.DOTALL)


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

    def __post_init__(self) -> None:
        # NUL cannot be stored in a PostgreSQL text column (and means nothing in a chat): it
        # becomes U+FFFD, so the rest of the message is kept and stored, not refused
        if "\x00" in self.text:
            object.__setattr__(self, "text", self.text.replace("\x00", "\ufffd"))

    @classmethod
    def from_text(cls, channel: str, user_id: str, chat_id: str, text: str, **extra: object):
        """A text message, or a command if ``text`` starts with ``/``."""
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

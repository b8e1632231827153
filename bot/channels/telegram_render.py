"""Rendering plain text and buttons as Telegram messages.

Handlers speak plain text; Telegram reads HTML here (the parse mode whose escaping is simplest
and complete: ``<``, ``>`` and ``&``). Every text is escaped, so a customer's ``<b>`` or a
stray ``&`` in an order note shows as typed and never breaks a message. Texts longer than
Telegram's 4096 characters (counted, as Telegram does, in UTF-16 code units, after entity
parsing) are split on paragraph boundaries, then lines, then spaces, and only as a last resort
inside a word. Button rows become an inline keyboard whose callback data is the button's action.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode

from handlers.messages import Button

log = logging.getLogger(__name__)

PARSE_MODE = ParseMode.HTML
MAX_MESSAGE = 4096  # Telegram's limit per message, UTF-16 code units after entity parsing
MAX_CALLBACK_DATA = 64  # bytes
_BREAKS = ("\n\n", "\n", " ")


def escape(text: str) -> str:
    """``text`` made safe for the HTML parse mode: shown exactly as written."""
    return html.escape(text, quote=False)


def utf16_length(text: str) -> int:
    """The length Telegram measures: UTF-16 code units (an emoji often counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def _fitting_prefix(text: str, limit: int) -> int:
    """How many characters of ``text`` fit in ``limit`` UTF-16 code units."""
    if utf16_length(text) <= limit:
        return len(text)
    low, high = 0, min(len(text), limit)
    while low < high:  # the largest n with utf16_length(text[:n]) <= limit
        middle = (low + high + 1) // 2
        if utf16_length(text[:middle]) <= limit:
            low = middle
        else:
            high = middle - 1
    return low


def split_text(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """Pieces of ``text`` of at most ``limit`` UTF-16 units, cut at the best boundary.

    Whitespace at a cut is dropped; nothing else is lost or reordered. Blank text gives [].
    """
    pieces: list[str] = []
    rest = text.strip()
    while rest:
        fits = _fitting_prefix(rest, limit)
        if fits == len(rest):
            pieces.append(rest)
            break
        head = rest[:fits]
        cut = -1
        for separator in _BREAKS:
            cut = head.rfind(separator)
            if cut > 0:
                break
        if cut <= 0:
            cut = fits  # one enormous word: cut it where the limit falls
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].strip()
    return [piece for piece in pieces if piece]


def keyboard(rows: Iterable[Iterable[Button | Sequence[str]]]) -> InlineKeyboardMarkup | None:
    """An inline keyboard from rows of :class:`Button` or outbox ``[label, action]`` pairs.

    A button whose action does not fit Telegram's 64 bytes of callback data is left out (and
    logged): Telegram would refuse the whole message otherwise.
    """
    markup: list[list[InlineKeyboardButton]] = []
    for row in rows:
        buttons = []
        for button in row:
            label, action = (
                (button.label, button.action) if isinstance(button, Button) else button[:2]
            )
            if not label.strip() or not 0 < len(action.encode("utf-8")) <= MAX_CALLBACK_DATA:
                log.warning("button with action of %d bytes left out", len(action.encode()))
                continue
            buttons.append(InlineKeyboardButton(label, callback_data=action))
        if buttons:
            markup.append(buttons)
    return InlineKeyboardMarkup(markup) if markup else None


@dataclass(frozen=True)
class Rendered:
    """One Telegram message to send: its plain text, that text as escaped HTML, and (on the
    last piece of a text) the keyboard."""

    text: str
    html: str
    markup: InlineKeyboardMarkup | None = None


def render(text: str, buttons: Iterable[Iterable[Button | Sequence[str]]] = ()) -> list[Rendered]:
    """The messages that show ``text`` with ``buttons`` under its last part."""
    markup = keyboard(buttons)
    pieces = split_text(text)
    if not pieces:
        return []
    rendered = [Rendered(piece, escape(piece)) for piece in pieces]
    rendered[-1] = Rendered(pieces[-1], rendered[-1].html, markup)
    return rendered

"""What the fake Bot API checks the way Telegram does: HTML markup, text length, buttons.

A message Telegram would refuse is refused here too (HTTP 400 with Telegram's description), so
a test that passes against the fake sends nothing Telegram would reject.
"""

from __future__ import annotations

import html
import re
from typing import Any

MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64
_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "span"}
_TAGS |= {"tg-spoiler", "tg-emoji", "blockquote"}
_TAG = re.compile(r"<(/?)([a-z][a-z-]*)((?:\s+[a-z-]+=\"[^\"<>]*\")*)\s*>")
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#\d{1,7}|#x[0-9a-fA-F]{1,6});")


class ApiError(Exception):
    """An answer the fake gives instead of a result (Telegram's error JSON)."""

    def __init__(self, status: int, description: str, parameters: dict | None = None) -> None:
        super().__init__(description)
        self.status, self.description, self.parameters = status, description, parameters


def utf16_length(text: str) -> int:
    """Telegram counts text length in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def parse_html(text: str) -> str:
    """The visible text of Telegram-HTML ``text``; ApiError(400) where Telegram would refuse."""
    out: list[str] = []
    stack: list[str] = []
    position = 0
    while position < len(text):
        char = text[position]
        if char == "<":
            tag = _TAG.match(text, position)
            if tag is None:
                raise ApiError(
                    400, f"Bad Request: can't parse entities: unexpected < at {position}"
                )
            closing, name = tag.group(1), tag.group(2)
            if name not in _TAGS:
                raise ApiError(400, f'Bad Request: can\'t parse entities: unsupported tag "{name}"')
            if closing:
                if not stack or stack.pop() != name:
                    raise ApiError(400, f"Bad Request: can't parse entities: unmatched </{name}>")
            else:
                stack.append(name)
            position = tag.end()
        elif char == "&":
            entity = _ENTITY.match(text, position)
            if entity is None:
                raise ApiError(400, f"Bad Request: can't parse entities: bad & at {position}")
            out.append(html.unescape(entity.group(0)))
            position = entity.end()
        elif char == ">":
            raise ApiError(400, f"Bad Request: can't parse entities: unexpected > at {position}")
        else:
            out.append(char)
            position += 1
    if stack:
        raise ApiError(400, f"Bad Request: can't parse entities: unclosed <{stack[-1]}>")
    return "".join(out)


def _utf8(text: str) -> None:
    """Telegram refuses a string that is not valid UTF-8 (a lone surrogate, for one)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(400, "Bad Request: strings must be encoded in UTF-8") from None


def chat_id_of(params: dict[str, Any]) -> int:
    """The numeric chat a request addresses."""
    try:
        return int(params["chat_id"])
    except (KeyError, ValueError):
        raise ApiError(400, "Bad Request: chat not found") from None


def checked_text(params: dict[str, Any]) -> tuple[str, str, str | None]:
    """The visible text, the text as sent, and the parse mode of a message to send."""
    raw = str(params.get("text", ""))
    _utf8(raw)
    parse_mode = params.get("parse_mode") or None
    text = parse_html(raw) if parse_mode == "HTML" else raw
    if parse_mode not in (None, "HTML"):
        raise ApiError(400, f"Bad Request: unsupported parse_mode {parse_mode} in this fake")
    if not text.strip():
        raise ApiError(400, "Bad Request: message text is empty")
    if utf16_length(text) > MAX_TEXT:
        raise ApiError(400, "Bad Request: message is too long")
    return text, raw, parse_mode


def checked_buttons(markup: Any) -> list[list[tuple[str, str]]]:
    """Rows of (label, callback data) of an inline keyboard Telegram would accept."""
    if not markup:
        return []
    rows = []
    for row in markup.get("inline_keyboard", []):
        buttons = []
        for button in row:
            data = button.get("callback_data", "")
            if not button.get("text"):
                raise ApiError(400, "Bad Request: BUTTON_TEXT_EMPTY")
            _utf8(str(button["text"]))
            if not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA:
                raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
            buttons.append((button["text"], data))
        rows.append(buttons)
    return rows

"""Block Kit for Slack: plain text in, escaped ``mrkdwn`` sections and button rows out.

Replies and outbox messages carry plain text; Slack reads ``&``, ``<`` and ``>`` as markup
(``<!channel>``, ``<@U123>``, ``<https://evil|bank>``), so every piece of text is escaped here
and nowhere else. Buttons become ``actions`` blocks whose ``value`` carries the handler's action
and whose ``action_id`` starts with :data:`ACTION_PREFIX`, the one pattern the channel listens
to. Incoming Slack text goes the other way: :func:`plain_text` turns Slack's markup back into
what the person typed, so handlers see (and staff relays re-escape) plain text only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from handlers.messages import Reply

ACTION_PREFIX = "crossdesk:"
ACTION_ID = re.compile("^" + re.escape(ACTION_PREFIX))
MENTION_ALL = "<!here>"

# Slack's documented limits
SECTION_LIMIT = 3000  # characters of a section's text
FALLBACK_LIMIT = 3000  # the top-level text, shown in notifications
MAX_BLOCKS = 50
MAX_BUTTONS_PER_BLOCK = 25
LABEL_LIMIT = 75
VALUE_LIMIT = 2000
ACTION_ID_LIMIT = 255

_WIDTH = {"&": 5, "<": 4, ">": 4}  # length of a character once escaped
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# broadcast words Slack may turn into notifications when link_names is on: a word joiner
# after the @ keeps them readable and harmless
_BROADCAST = re.compile(r"@(here|channel|everyone)\b", re.IGNORECASE)
_SLACK_LINK = re.compile(r"<([^<>|]*)(?:\|([^<>]*))?>")

Rows = Sequence[Sequence[Sequence[str]]]  # rows of [label, action]


def clean(text: str) -> str:
    """Text Slack accepts: no lone surrogates (binary input), no control characters."""
    text = text.encode("utf-8", "replace").decode("utf-8")
    return _CONTROL.sub("", text)


def escape(text: str) -> str:
    """Escape user or handler text for ``mrkdwn``: ``&``, ``<``, ``>`` and broadcast words."""
    escaped = clean(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BROADCAST.sub("@\u2060\\1", escaped)


def plain_text(slack_text: str) -> str:
    """What a person typed, from Slack's message markup.

    ``<@U123>`` and ``<#C123|general>`` become ``@U123`` and ``#general``, links keep their
    address (``<https://x|label>`` -> ``label (https://x)``; auto-linked ``<mailto:a@b|a@b>`` ->
    ``a@b``), ``<!here>`` becomes ``@here``, and
    the three escaped characters are unescaped.
    """

    def replace(match: re.Match[str]) -> str:
        target, label = match.group(1), match.group(2)
        if target[:1] in ("@", "#"):
            return target[0] + label.lstrip("@#") if label else target
        if target.startswith("!"):
            return "@" + (label.lstrip("@") if label else target[1:].split("^")[0])
        bare = target.removeprefix("mailto:").split("://", 1)[-1]
        if label and label not in (target, bare):
            return f"{label} ({target})"  # the address stays visible: labels can lie
        if label:
            return label
        return bare if target.startswith("mailto:") else target

    text = _SLACK_LINK.sub(replace, slack_text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _chunks(text: str, limit: int) -> list[str]:
    """Cut ``text`` into pieces whose escaped length fits ``limit``: after a line if possible,
    else after a space, else anywhere (never inside an escape, which happens later)."""
    chunks: list[str] = []
    start, end_of_text = 0, len(text)
    while start < end_of_text:
        size, end, line_break, space = 0, start, -1, -1
        while end < end_of_text:
            width = _WIDTH.get(text[end], 1) + (1 if text[end] == "@" else 0)  # word joiner
            if size + width > limit:
                break
            size += width
            if text[end] == "\n":
                line_break = end + 1
            elif text[end] == " ":
                space = end + 1
            end += 1
        if end < end_of_text:
            end = line_break if line_break > start else space if space > start else end
        chunks.append(text[start:end])
        start = end
    return chunks


def _button(label: str, action: str, action_id: str) -> dict[str, Any]:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": clean(label)[:LABEL_LIMIT] or "?", "emoji": True},
        "value": action[:VALUE_LIMIT],
        "action_id": action_id,
    }


def _action_blocks(rows: Rows) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    used: set[str] = set()
    for row in rows:
        elements = []
        for button in row:
            label, action = str(button[0]), str(button[1])
            action_id = (ACTION_PREFIX + action)[:ACTION_ID_LIMIT]
            if action_id in used:  # action ids must be unique within a message
                suffix = f"#{len(used)}"
                action_id = action_id[: ACTION_ID_LIMIT - len(suffix)] + suffix
            used.add(action_id)
            elements.append(_button(label, action, action_id))
        for start in range(0, len(elements), MAX_BUTTONS_PER_BLOCK):
            blocks.append(
                {"type": "actions", "elements": elements[start : start + MAX_BUTTONS_PER_BLOCK]}
            )
    return blocks


def render(text: str, rows: Rows = (), *, mention: bool = False) -> tuple[str, list[dict]]:
    """The notification text and the blocks of one message.

    Long text is split over several sections (Slack's 3,000-character limit); what would not
    fit in Slack's 50 blocks is cut. Returns ``("", [])`` when there is nothing to show.
    """
    actions = _action_blocks(rows)[:MAX_BLOCKS]
    room = MAX_BLOCKS - len(actions)
    prefix = MENTION_ALL + " " if mention else ""
    pieces = _chunks(text, SECTION_LIMIT - len(prefix)) if text.strip() else []
    sections: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": escape(piece)}}
        for piece in pieces[:room]
        if piece.strip()
    ]
    if sections and prefix:
        sections[0]["text"]["text"] = prefix + sections[0]["text"]["text"]
    if not sections and not actions:
        return "", []
    fallback_pieces = _chunks(text, FALLBACK_LIMIT - len(prefix)) if text.strip() else [""]
    fallback = prefix + escape(fallback_pieces[0])
    return fallback.strip() or " ", [*sections, *actions]


def reply_rows(reply: Reply) -> list[list[list[str]]]:
    """A Reply's buttons as rows of ``[label, action]``, the shape outbox messages carry."""
    return [[[button.label, button.action] for button in row] for row in reply.buttons]


def action_of(value: str | None, action_id: str | None) -> str | None:
    """The handler action of a pressed button: its value, else what its action id carries."""
    if value:
        return value
    if action_id and action_id.startswith(ACTION_PREFIX):
        return action_id[len(ACTION_PREFIX) :] or None
    return None

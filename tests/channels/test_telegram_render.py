"""Rendering for Telegram: escaping for the HTML parse mode, splitting, keyboards.

The fake Bot API's parser (the same rules Telegram applies) is the judge of the escaping.
"""

from __future__ import annotations

import pytest

from bot.channels.telegram_render import (
    MAX_MESSAGE,
    escape,
    keyboard,
    render,
    split_text,
    utf16_length,
)
from handlers.messages import Button
from tests.fakes.telegram_rules import ApiError, parse_html

MARKUP_BREAKERS = [
    "<b>bold</b>",
    "a < b > c",
    "Tom & Jerry &amp; &lt;tag&gt; &#169; &bogus;",
    "</i></b><pre>",
    "<a href='javascript:alert(1)'>click</a>",
    "*not markdown* _either_ [x](http://y) `code`",
    "שלום عربى 😀 \u200f RTL",
    "\x00\x01 binary \ufffd",
]


@pytest.mark.parametrize("text", MARKUP_BREAKERS)
def test_escaped_text_parses_back_to_exactly_what_was_written(text: str) -> None:
    assert parse_html(escape(text)) == text


def test_the_fake_refuses_unescaped_markup_like_telegram() -> None:
    with pytest.raises(ApiError):
        parse_html("Tom & Jerry <3")


def test_short_text_is_one_piece_and_blank_text_none() -> None:
    assert split_text("Hello\n\nworld") == ["Hello\n\nworld"]
    assert split_text("  \n ") == []


def test_split_prefers_paragraphs_then_lines_then_spaces() -> None:
    paragraph = "word " * 500  # 2,500 characters
    text = f"{paragraph.strip()}\n\n{paragraph.strip()}\n\n{paragraph.strip()}"
    pieces = split_text(text)
    assert pieces == [paragraph.strip()] * 3
    lines = "\n".join(["line " * 100] * 20)  # no paragraph breaks at all
    pieces = split_text(lines)
    assert all(utf16_length(p) <= MAX_MESSAGE for p in pieces)
    assert all(p.endswith("line") for p in pieces)  # cut at line ends, not inside
    assert "\n".join(pieces).split() == lines.split()


def test_one_enormous_word_is_cut_at_the_limit_counting_utf16() -> None:
    word = "😀" * 5000  # each is 2 UTF-16 units
    pieces = split_text(word)
    assert [utf16_length(p) for p in pieces] == [4096, 4096, 1808]
    assert "".join(pieces) == word


def test_render_escapes_each_piece_and_puts_buttons_last() -> None:
    text = "<x>\n\n" + "& " * 3000  # a short paragraph, then one too long for a message
    rows = ((Button("Yes", "helpful:yes:a"), Button("No", "helpful:no:a")),)
    pieces = render(text, rows)
    assert [p.html for p in pieces[:1]] == ["&lt;x&gt;"]  # the paragraph break wins
    assert [p.markup is not None for p in pieces] == [False] * (len(pieces) - 1) + [True]
    assert all(parse_html(p.html) == p.text for p in pieces)
    assert " ".join(p.text for p in pieces).split() == text.split()


def test_keyboard_takes_buttons_and_outbox_rows_and_drops_oversized_actions() -> None:
    markup = keyboard([[["Claim", "claim:7"], ["Resolve", "resolve:7"]], [["Big", "x" * 65]]])
    assert markup is not None
    assert [[b.callback_data for b in row] for row in markup.inline_keyboard] == [
        ["claim:7", "resolve:7"]
    ]
    assert keyboard([]) is None

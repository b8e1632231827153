"""The channel contract: commands parse the way customers and Telegram type them."""

from __future__ import annotations

import pytest

from handlers.messages import Command, IncomingMessage, MessageKind, parse_command


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/order 10234", Command("order", ("10234",))),
        ("/ORDER   10234  ", Command("order", ("10234",))),
        ("/order@NorthwindBot 10234", Command("order", ("10234",))),
        ("/start", Command("start", ())),
        (
            "/alerts silence late 2h too noisy",
            Command("alerts", ("silence", "late", "2h", "too", "noisy")),
        ),
    ],
)
def test_parse_command(text: str, expected: Command) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize("text", ["hello", "/", "/ order", "a/order", "/" + "x" * 40])
def test_not_a_command(text: str) -> None:
    assert parse_command(text) is None


def test_from_text_sets_kind() -> None:
    assert IncomingMessage.from_text("console", "u", "c", "/help").kind is MessageKind.COMMAND
    plain = IncomingMessage.from_text("console", "u", "c", "where is my order")
    assert plain.kind is MessageKind.TEXT and plain.command is None

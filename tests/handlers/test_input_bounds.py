"""Hostile input at the channel contract: every text and id bounded and valid before handlers,
regexes or the store see it, and every such message answered properly, with its row stored.

The router tests run on SQLite and, with ``CROSSDESK_TEST_DATABASE_URL`` set, on PostgreSQL
(marked ``postgres``), where an oversized VARCHAR or a NUL is refused by the server itself.
"""

from __future__ import annotations

import itertools
import logging
import unicodedata
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.app import App
from handlers import input_bounds
from handlers.input_bounds import (
    DISPLAY_NAME_CHARS,
    MAX_DB_INTEGER,
    MAX_TEXT_CHARS,
    ORDER_ID_CHARS,
    PLATFORM_ID_CHARS,
    bounded_int,
    clean_text,
    order_number,
    platform_id,
)
from handlers.messages import IncomingMessage, MessageKind
from store.models import Contact, ConversationEntry
from tests.handlers.conversation import press, say

# any code point, with the troublemakers (lone surrogates, NUL, combining marks, bidi
# controls) drawn often: hypothesis's own distribution rarely picks a surrogate
TROUBLE = ["\x00", "\ud800", "\udc00", "\ud83d", "\udfff", "\u0301", "\u202e", "\ufeff", "@"]
ANY_TEXT = st.text(
    st.one_of(st.characters(codec=None, exclude_categories=()), st.sampled_from(TROUBLE)),
    max_size=300,
)
TWENTY_DIGITS = "9" * 20
_users = itertools.count(1)


def _text(app: App, key: str, language: str = "en") -> str:
    return app.knowledge.texts.get(key, language)


def _stored_in(app: App, user: str) -> list[str]:
    """What the conversation log holds as ``user``'s incoming messages."""
    with app.sessions() as session:
        return list(
            session.scalars(
                select(ConversationEntry.text)
                .join(Contact, Contact.id == ConversationEntry.contact_id)
                .where(Contact.external_id == user, ConversationEntry.direction == "in")
            )
        )


def _no_failure_logged(caplog: pytest.LogCaptureFixture) -> None:
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not failures, [r.getMessage() for r in failures]


# --- the bounds themselves -------------------------------------------------------------------


@settings(derandomize=True, max_examples=300)
@given(ANY_TEXT, st.integers(min_value=1, max_value=400))
def test_clean_text_is_storable_normalised_bounded_and_idempotent(text: str, limit: int) -> None:
    cleaned, cut = clean_text(text, limit)
    cleaned.encode("utf-8")  # no lone surrogate left: this would raise
    assert "\x00" not in cleaned
    assert len(cleaned) <= limit
    assert unicodedata.is_normalized("NFC", cleaned)
    assert cut == (len(text.replace("\x00", "")) > limit) or len(cleaned) == limit
    assert clean_text(cleaned, limit) == (cleaned, False)


def test_clean_text_keeps_what_it_can() -> None:
    assert clean_text("hello") == ("hello", False)
    assert clean_text("a\x00b") == ("ab", False)
    assert clean_text("bad \ud800 byte") == ("bad \ufffd byte", False)
    assert clean_text("paired \ud83d\ude00") == ("paired 😀", False)  # a valid pair is joined
    assert clean_text("Cafe\u0301") == ("Café", False)
    assert clean_text("x" * 100_000) == ("x" * MAX_TEXT_CHARS, True)


@settings(derandomize=True, max_examples=200)
@given(ANY_TEXT, ANY_TEXT)
def test_platform_ids_fit_their_column_and_stay_distinct(first: str, second: str) -> None:
    for value in (first, second, first * 5):
        bounded = platform_id(value)
        assert len(bounded) <= PLATFORM_ID_CHARS and bounded.isprintable()
        assert platform_id(value) == bounded  # stable: the same person is the same contact
    if first != second:
        assert platform_id(first) != platform_id(second)


def test_ids_longer_than_the_column_are_not_merely_cut() -> None:
    a, b = "u" * 150 + "a", "u" * 150 + "b"
    assert platform_id(a) != platform_id(b)
    assert platform_id("4242") == "4242" and platform_id("U0123ABC") == "U0123ABC"


@settings(derandomize=True, max_examples=300)
@given(st.one_of(ANY_TEXT, st.integers(min_value=0, max_value=10**30).map(str)))
def test_bounded_int_never_raises_and_never_overflows(text: str) -> None:
    value = bounded_int(text)
    assert value is None or 0 <= value <= MAX_DB_INTEGER
    if value is not None:
        assert text.isascii() and int(text) == value


@pytest.mark.parametrize("text", [TWENTY_DIGITS, "²", "١٢", "-4", "1e3", " 5", "", "2147483648"])
def test_bounded_int_refuses_what_is_no_id(text: str) -> None:
    assert bounded_int(text) is None


def test_order_numbers_are_bounded_by_the_order_id_column() -> None:
    assert order_number("#10234") == "10234" and order_number("CD-10234") == "CD-10234"
    assert order_number("#A1B2C3") == "A1B2C3" and order_number("2026/1234?") == "2026/1234"
    assert order_number("302-1234567-1234567") == "302-1234567-1234567"
    for not_an_id in ("ABCDEF", "SZ 20001", "<10234>", "10234;DROP", "-10234", "١٢٣٤٥"):
        assert order_number(not_an_id) is None, not_an_id
    assert order_number("1" * ORDER_ID_CHARS) == "1" * ORDER_ID_CHARS
    assert order_number("1" * (ORDER_ID_CHARS + 1)) is None
    assert order_number("#") is None


@settings(derandomize=True, max_examples=200)
@given(ANY_TEXT, ANY_TEXT, st.one_of(st.none(), ANY_TEXT), st.one_of(st.none(), ANY_TEXT))
def test_every_field_of_an_incoming_message_is_bounded(
    text: str, user: str, name: str | None, action: str | None
) -> None:
    message = IncomingMessage.from_text(
        "telegram", user * 3, user, text * 20, display_name=name and name * 3, language_hint=name
    )
    button = IncomingMessage("telegram", user, user, kind=MessageKind.BUTTON, action=action)
    for value in (message.text, message.user_id, message.chat_id, message.display_name or ""):
        value.encode("utf-8")
        assert "\x00" not in value
    assert len(message.text) <= MAX_TEXT_CHARS
    assert len(message.user_id) <= PLATFORM_ID_CHARS
    assert len(message.display_name or "") <= DISPLAY_NAME_CHARS
    assert message.language_hint is None or len(message.language_hint) <= 35
    assert button.action is None or len(button.action) <= input_bounds.MAX_ACTION_CHARS
    if message.command is not None:
        assert all(arg in message.text for arg in message.command.args)


# --- through the router, on SQLite and PostgreSQL -------------------------------------------

HOSTILE: dict[str, Callable[[str], IncomingMessage]] = {
    "lone surrogates": lambda user: IncomingMessage.from_text(
        "telegram", user, user, "How long \ud800does delivery take\udfff to Canada?"
    ),
    "NUL": lambda user: IncomingMessage.from_text(
        "telegram", user, user, "How long does\x00 delivery take to Canada?\x00"
    ),
    "100k characters": lambda user: IncomingMessage.from_text(
        "telegram", user, user, "How long does delivery take to Canada? " + "x" * 100_000
    ),
    "250-character name": lambda user: IncomingMessage.from_text(
        "telegram", user, user, "How long does delivery take to Canada?", display_name="N" * 250
    ),
    "250-character user id": lambda user: IncomingMessage.from_text(
        "telegram", user * 125, user, "How long does delivery take to Canada?"
    ),
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_hostile_messages_get_a_proper_answer_and_a_stored_row(
    app: App, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    message = HOSTILE[kind]("u1")
    replies = app.router.handle(message)
    shipping = app.knowledge.texts.fill(app.knowledge.kb.faq["en"]["shipping_time"].answer)
    if kind == "100k characters":  # cut (and said so); the x's are read as one word of 40
        too_long, answer = replies
        assert too_long.text == _text(app, "input.too_long")
        assert answer.text == shipping
    else:
        assert [r.text for r in replies] == [shipping]
    _no_failure_logged(caplog)
    with app.sessions() as session:
        contact = session.scalars(select(Contact)).one()
        assert contact.external_id == message.user_id
        assert contact.display_name is None or len(contact.display_name) <= DISPLAY_NAME_CHARS
        logged = session.scalars(
            select(ConversationEntry.text).where(ConversationEntry.direction == "in")
        ).one()
    assert "\x00" not in logged and "\ud800" not in logged and logged.startswith("How long")


def test_a_twenty_digit_rating_is_refused_with_a_clear_answer(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    replies = press(app, f"rate:{TWENTY_DIGITS}:5")
    assert [r.text for r in replies] == [_text(app, "input.bad_button")]
    for forged in ("rate:²:5", "helpful:yes:" + "e" * 200, "helpful:maybe:shipping_time"):
        assert [r.text for r in press(app, forged)] == [_text(app, "input.bad_button")]
    _no_failure_logged(caplog)
    with app.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Contact)) == 1


def test_a_sixty_digit_order_number_is_refused_with_a_clear_answer(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    replies = say(app, "/order " + "1" * 60)
    assert [r.text for r in replies] == [_text(app, "order.bad_number")]
    _no_failure_logged(caplog)
    with app.sessions() as session:
        contact = session.scalars(select(Contact)).one()
        assert contact.pending_order_id is None


def test_staff_payloads_and_commands_with_huge_numbers_find_nothing(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    staff = {"is_staff": True, "in_staff_chat": True, "display_name": "S" * 250}
    texts, language = app.knowledge.texts, app.settings.support.staff_language
    for kind, number in (("claim", TWENTY_DIGITS), ("resolve", TWENTY_DIGITS), ("bot", "²")):
        [reply] = press(app, f"{kind}:{number}", user="s1", **staff)
        assert reply.text == texts.get("staff.not_found", language, query=f"#{number}")
    [order] = say(app, "/order " + "1" * 60, user="s1", **staff)
    assert order.text == texts.get("staff.not_found", language, query="1" * 60)
    [unsilence] = say(app, "/alerts unsilence ²", user="s1", **staff)
    assert unsilence.text == texts.get("alerts.silence.not_found", language, id="²")
    _no_failure_logged(caplog)


@settings(
    derandomize=True,
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=ANY_TEXT.filter(lambda t: t.strip("\x00 \t\n\r")), name=ANY_TEXT)
def test_any_text_and_name_are_answered_and_stored(app: App, text: str, name: str) -> None:
    """Whatever arrives is handled, not failed: a failure would roll the log row back."""
    user = f"h{next(_users)}"
    message = IncomingMessage.from_text("telegram", user, user, text, display_name=name * 2)
    if message.kind is MessageKind.COMMAND:
        return  # commands are not logged as conversation; their parsing is tested above
    replies = app.router.handle(message)
    assert replies and all(r.text for r in replies)
    assert _stored_in(app, user) == [message.text] or not message.text.strip()

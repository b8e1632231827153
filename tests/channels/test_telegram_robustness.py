"""The Telegram channel when things go wrong: 429s, 5xx, refused replies, restarts, bad config.

Every failure here is one the fake Bot API really answers over HTTP; the real
python-telegram-bot client (and its rate limiter) meets it as it would meet Telegram.
"""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import func, select

from bot.app import App
from bot.channels.telegram import TelegramChannel
from bot.config import ConfigError
from bot.delivery import Deliverer, Outgoing, RetryLater
from store.models import ConversationEntry
from tests.channels.telegram_harness import (
    STAFF_CHAT,
    outbox,
    running_channel,
    telegram_settings,
)
from tests.fakes.telegram_api import FakeTelegram

QUESTION = "How do I return an item?"


def expected(app: App) -> str:
    return app.knowledge.texts.fill(app.knowledge.kb.faq["en"]["returns_policy"].answer)


@pytest.mark.parametrize("rate_limit", [True, False], ids=["rate-limiter", "no-rate-limiter"])
async def test_429_waits_retry_after_and_delivers(
    tg_app: App, fake: FakeTelegram, rate_limit: bool
) -> None:
    async with running_channel(tg_app, fake, rate_limit=rate_limit):
        fake.fail("sendMessage", 429, retry_after=1)
        fake.message(11, QUESTION)
        sent = await fake.wait_sent(11)
    assert [m.text for m in sent] == [expected(tg_app)]
    first, second = fake.calls_to("sendMessage")
    assert (first.status, second.status) == (429, 200)
    assert second.at - first.at >= 1.0  # waited as long as Telegram asked


async def test_server_errors_are_retried(tg_app: App, fake: FakeTelegram) -> None:
    async with running_channel(tg_app, fake):
        fake.fail("sendMessage", 500, times=2)
        fake.fail("answerCallbackQuery", 502)
        fake.message(12, QUESTION)
        answer = (await fake.wait_sent(12))[0]
        fake.press(12, "helpful:no:returns_policy", answer)
        await fake.wait_sent(12, 2)
    assert [c.status for c in fake.calls_to("sendMessage")] == [500, 500, 200, 200]
    assert fake.sent_to(12)[0].text == expected(tg_app)


async def test_a_reply_that_keeps_failing_is_handed_to_the_outbox(
    tg_app: App, fake: FakeTelegram
) -> None:
    async with running_channel(tg_app, fake, deliver=False) as channel:
        fake.fail("sendMessage", 503, times=4)  # every inline attempt
        fake.message(13, QUESTION)
        # the reply is recorded before it is sent; after the failed attempts it is due
        await fake.wait_for(
            lambda: [row for row in outbox(tg_app) if row.last_error],
            what="the reply left to the outbox",
        )
        assert fake.sent_to(13) == []
        deliverer = Deliverer(
            tg_app.sessions, {"telegram": channel.sender}, clock=tg_app.services.clock
        )
        assert await deliverer.run_once() == 1
    delivered = fake.sent_to(13)
    assert [m.text for m in delivered] == [expected(tg_app)]
    assert [[a for _, a in row] for row in delivered[0].buttons] == [
        ["helpful:yes:returns_policy", "helpful:no:returns_policy"]
    ]
    assert all(row.sent_at is not None for row in outbox(tg_app))


async def test_a_refused_reply_is_logged_without_text_and_the_bot_goes_on(
    tg_app: App, fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    secret_words = "my very private question about returns"
    caplog.set_level(logging.DEBUG)
    async with running_channel(tg_app, fake):
        fake.fail("sendMessage", 400)
        fake.message(14, f"How do I return an item? {secret_words}")
        fake.message(15, QUESTION)
        await fake.wait_sent(15)
    assert fake.sent_to(14) == []
    assert "refused" in caplog.text
    assert secret_words not in caplog.text and fake.token not in caplog.text


async def test_sender_raises_retry_later_on_flood_control(tg_app: App, fake: FakeTelegram) -> None:
    async with running_channel(tg_app, fake, deliver=False) as channel:
        fake.fail("sendMessage", 429, retry_after=7)
        with pytest.raises(RetryLater) as raised:
            await channel.sender.send(Outgoing(to="staff", text="Ticket #1"))
        assert raised.value.retry_after == 7
        ref = await channel.sender.send(Outgoing(to="staff", text="Ticket #1"))
    assert ref is not None and ref.chat_id == str(STAFF_CHAT)
    assert [m.text for m in fake.sent_to(STAFF_CHAT)] == ["Ticket #1"]


async def test_polling_survives_network_errors(tg_app: App, fake: FakeTelegram) -> None:
    async with running_channel(tg_app, fake):
        fake.fail("getUpdates", 500, times=2)
        fake.message(16, QUESTION)
        await fake.wait_sent(16, timeout=15)
    statuses = [c.status for c in fake.calls_to("getUpdates")]
    assert statuses.count(500) == 2 and statuses[-1] == 200


async def test_restart_processes_every_update_exactly_once(tg_app: App, fake: FakeTelegram) -> None:
    async with running_channel(tg_app, fake):
        for user in (21, 22, 23):
            fake.message(user, QUESTION)
        for user in (21, 22, 23):
            await fake.wait_sent(user)
        fake.fail("sendMessage", 500)  # 24's reply needs a retry, and the stop comes first
        fake.message(24, QUESTION)
        await fake.wait_for(lambda: fake.calls[-1].status == 500, what="24's failed reply")
    assert len(fake.sent_to(24)) == 1  # stopping finished the update in flight
    fake.message(25, QUESTION)  # arrives while the bot is down
    async with running_channel(tg_app, fake):
        fake.message(26, QUESTION)
        for user in (25, 26):
            await fake.wait_sent(user)
        await fake.wait_for(lambda: not fake.updates, what="all updates confirmed")
    for user in range(21, 27):
        assert len(fake.sent_to(user)) == 1, f"user {user}"
    assert set(fake.returned.values()) == {1}  # no update was fetched twice
    with tg_app.sessions() as session:
        incoming = session.scalar(
            select(func.count())
            .select_from(ConversationEntry)
            .where(ConversationEntry.direction == "in")
        )
    assert incoming == 6


async def test_an_invalid_token_is_refused_without_showing_it(
    tg_app: App, fake: FakeTelegram
) -> None:
    deliverer = Deliverer(tg_app.sessions, {})
    channel = TelegramChannel(telegram_settings(fake, token="1:wrong"), tg_app, deliverer)
    with pytest.raises(ConfigError) as bad_token:
        await channel.start()
    assert "telegram.token" in str(bad_token.value) and "1:wrong" not in str(bad_token.value)
    await channel.stop()


# --- an update python-telegram-bot cannot parse ------------------------------------------

UNREADABLE = {
    "date of the wrong type": {"date": "yesterday"},
    "chat of the wrong type": {"chat": "not an object"},
    "entities of the wrong type": {"entities": "not a list"},
}


def _unreadable(fake: FakeTelegram, user: int, words: str, broken: dict[str, object]) -> int:
    """Queue a message from ``user`` that the library cannot parse; returns its update_id."""
    update = fake.build_message(user, words)
    update["message"].update(broken)
    return int(fake.push(update)["update_id"])


@pytest.mark.parametrize("broken", sorted(UNREADABLE))
@pytest.mark.parametrize("last", [False, True], ids=["among-others", "last-of-its-answer"])
async def test_an_unparseable_update_is_skipped_once_and_the_next_answered(
    tg_app: App,
    fake: FakeTelegram,
    caplog: pytest.LogCaptureFixture,
    broken: str,
    last: bool,
) -> None:
    """Once, such an update stalled the bot: getUpdates in a tight loop, and CRITICAL logs with
    every update of the answer, other customers' messages included."""
    caplog.set_level(logging.DEBUG)
    mine, theirs = "my own SECRET-TEXT question", "another customer's SECRET-WORDS"
    async with running_channel(tg_app, fake):
        bad = _unreadable(fake, 31, mine, UNREADABLE[broken])
        if last:  # alone in its answer: only its own id can move the offset past it
            await fake.wait_for(lambda: not fake.updates, what="the bad update acknowledged")
        fake.message(32, f"{QUESTION} {theirs}")
        await fake.wait_sent(32)
        await fake.wait_for(lambda: not fake.updates, what="every update acknowledged")
        polls = len(fake.calls_to("getUpdates"))
    assert fake.returned[bad] == 1  # fetched once: acknowledged, not fetched again and again
    assert polls < 10  # no tight loop
    assert fake.sent_to(31) == []
    about = [r for r in caplog.records if f"update {bad} could not be read" in r.getMessage()]
    assert len(about) == 1 and about[0].levelno == logging.WARNING
    assert "bytes" in about[0].getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.CRITICAL]
    assert "SECRET" not in caplog.text + "".join(str(r.args) for r in caplog.records)
    with tg_app.sessions() as session:
        logged = list(session.scalars(select(ConversationEntry.text)))
    assert any(theirs in text for text in logged) and not any(mine in text for text in logged)


async def test_a_group_mention_with_a_lone_surrogate_is_answered_and_stalls_nobody(
    tg_app: App, fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    """Telegram delivers lone surrogates; reading the mention's entity once raised while the
    fetched answer was stored, and polling fetched that answer again and again."""
    handle = "@" + fake.username
    text = f"{handle} How do I return an item? \ud800"
    mention = [{"type": "mention", "offset": 0, "length": len(handle)}]
    async with running_channel(tg_app, fake):
        fake.message(33, text, chat_id=-1003300, entities=mention)
        fake.message(34, QUESTION)
        await fake.wait_sent(34)
        await fake.wait_sent(-1003300)
        await fake.wait_for(lambda: not fake.updates, what="every update acknowledged")
    assert fake.sent_to(-1003300)[0].text == expected(tg_app)
    assert set(fake.returned.values()) == {1}  # each fetched once
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]

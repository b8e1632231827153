"""Flood control is waiting, not failing: 429s never use a message's attempts up, and a long
text sent in pieces sends each piece once, whatever fails between them."""

from __future__ import annotations

from bot.app import App
from bot.channels.telegram_render import split_text
from bot.delivery import Deliverer
from store import outbox
from store.clock import ManualClock
from tests.channels.telegram_harness import STAFF_CHAT, running_channel
from tests.channels.telegram_harness import outbox as outbox_rows
from tests.fakes.telegram_api import FakeTelegram

CARD = "Ticket #7: a long complaint.\n\n" + "\n\n".join(
    f"{n}. The parcel arrived broken and the replacement did too. " * 12 for n in range(1, 9)
)


async def test_a_long_reply_with_429s_between_its_pieces_arrives_whole_each_piece_once(
    tg_app: App, fake: FakeTelegram
) -> None:
    answer = tg_app.knowledge.texts.fill(tg_app.knowledge.kb.faq["en"]["size_guide"].answer)
    expected = split_text(answer)
    assert len(expected) >= 2
    async with running_channel(tg_app, fake) as channel:
        fake.fail("sendMessage", 429, retry_after=1, times=2, after=1)  # after the first piece
        fake.message(71, "Where is the size guide?")
        sent = await fake.wait_sent(71, len(expected))
        await channel.inbox.settle()
    assert [m.text for m in fake.sent_to(71)] == expected
    assert [m.text for m in sent] == expected
    assert all(row.sent_at is not None for row in outbox_rows(tg_app))


async def test_a_card_held_back_by_minutes_of_429s_is_delivered_once_piece_by_piece(
    tg_app: App, fake: FakeTelegram
) -> None:
    clock = tg_app.services.clock
    assert isinstance(clock, ManualClock)
    pieces = split_text(CARD)
    assert len(pieces) >= 2
    with tg_app.sessions() as session, session.begin():
        outbox.enqueue(
            session, channel="telegram", kind="ticket", payload={"to": "staff", "text": CARD},
            now=clock(),
        )  # fmt: skip
    # 60 s of flood control, reported every 3 s, starting after the first piece is out:
    # more 429s than a message has attempts
    rounds = 20
    fake.fail("sendMessage", 429, retry_after=3, times=rounds, after=1)
    async with running_channel(tg_app, fake, deliver=False) as channel:
        deliverer = Deliverer(tg_app.sessions, {"telegram": channel.sender}, clock=clock)
        for _ in range(rounds):
            assert await deliverer.run_once() == 0
            clock.advance(seconds=3)
        assert await deliverer.run_once() == 1
    assert [m.text for m in fake.sent_to(STAFF_CHAT)] == pieces
    (row,) = outbox_rows(tg_app)
    assert row.sent_at is not None and row.failed_at is None
    assert row.attempts <= 1  # the waits used no attempt up
    assert rounds > outbox.MAX_ATTEMPTS

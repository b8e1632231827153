"""Human handoff through the Router: claim, relay both ways translated, notes, resolve, rating,
SLA, and two staff racing for one ticket."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from bot.app import App, build_app
from bot.config import Settings
from bot.delivery import Deliverer, Outgoing, PlatformRef
from store.clock import ManualClock
from store.models import Ticket, TicketMessage
from tests.fakes.translator_api import FakeTranslator, start_fake_translator
from tests.handlers.conversation import outbox_rows, press, say

STAFF = {"is_staff": True, "in_staff_chat": True, "display_name": "Li Wei"}


class RecordingSender:
    """A channel sender that remembers what it sent and where it landed."""

    def __init__(self) -> None:
        self.sent: list[Outgoing] = []

    async def send(self, message: Outgoing) -> PlatformRef:
        self.sent.append(message)
        return PlatformRef("staff" if message.to == "staff" else message.to, str(len(self.sent)))


@pytest.fixture
def fake() -> Iterator[FakeTranslator]:
    state, server = start_fake_translator()
    yield state
    server.shutdown()


@pytest.fixture
def desk(db_url: str, clock: ManualClock, knowledge, fake: FakeTranslator) -> Iterator[App]:  # type: ignore[no-untyped-def]
    settings = Settings(
        store={"url": db_url}, translation={"provider": "libre", "url": fake.url, "timeout": 2}
    )
    app = build_app(settings, clock=clock, staff_channels=["console"], knowledge=knowledge)
    yield app
    app.close()


def deliver(app: App, sender: RecordingSender) -> None:
    deliverer = Deliverer(app.sessions, {"console": sender}, clock=app.services.clock)
    asyncio.run(deliverer.run_once())


def test_german_dispute_to_chinese_staff_and_back(desk: App, fake: FakeTranslator) -> None:
    fake.dictionary[("de", "zh", "Ich will mit einem Menschen sprechen, das Paket ist kaputt")] = (
        "我想和真人说话，包裹坏了"
    )
    fake.dictionary[("zh", "de", "很抱歉，我们会补发")] = "Es tut uns leid, wir senden Ersatz"
    sender = RecordingSender()
    say(desk, "/language de", user="kunde")
    opened = say(desk, "/human", user="kunde")
    assert opened[0].language == "de"
    say(desk, "Ich will mit einem Menschen sprechen, das Paket ist kaputt", user="kunde")
    deliver(desk, sender)
    card, line = sender.sent[0], sender.sent[1]
    assert card.to == "staff" and "#1" in card.text
    assert "我想和真人说话，包裹坏了" in line.text and "das Paket ist kaputt" in line.text
    assert line.thread == PlatformRef("staff", "1")  # in the card's thread

    claimed = press(desk, "claim:1", user="s1", **STAFF)
    assert "Li Wei" in claimed[0].text
    quiet = say(desk, "Hallo? Ist da jemand?", user="kunde")
    assert quiet == []  # claimed: the bot steps aside
    say(desk, "很抱歉，我们会补发", user="s1", thread_id="1", **STAFF)
    say(desk, "// 客户很生气，先补发", user="s1", thread_id="1", **STAFF)
    deliver(desk, sender)
    to_customer = [m for m in sender.sent if m.to == "kunde"]
    assert "Li Wei" in to_customer[0].text  # claimed notice, in German from the locale
    assert to_customer[-1].text == "Es tut uns leid, wir senden Ersatz"
    assert not any("客户很生气" in m.text for m in sender.sent)  # the note stayed internal
    updates = [m for m in sender.sent if m.edit is not None]
    assert updates and updates[0].edit == PlatformRef("staff", "1")

    press(desk, "resolve:1", user="s1", **STAFF)
    deliver(desk, sender)
    rating = [m for m in sender.sent if m.to == "kunde"][-1]
    assert [b[1] for b in rating.buttons[0]] == [f"rate:1:{n}" for n in range(1, 6)]
    thanks = say(desk, "5", user="kunde")
    assert thanks[0].language == "de"
    with desk.sessions() as session:
        ticket = session.get(Ticket, 1)
        assert ticket is not None and ticket.state == "resolved" and ticket.satisfaction == 5
        authors = [
            m.author for m in session.scalars(select(TicketMessage).order_by(TicketMessage.id))
        ]
    assert authors.count("note") == 1 and authors.count("staff") == 1
    after = say(desk, "Wie lange dauert der Versand?", user="kunde")
    assert after and after[0].text  # back with the bot


def test_translation_down_relays_original_with_a_note(desk: App, fake: FakeTranslator) -> None:
    sender = RecordingSender()
    say(desk, "/language fr", user="client")
    say(desk, "/human", user="client")
    deliver(desk, sender)  # the card is posted: staff can answer in its thread
    press(desk, "claim:1", user="s1", **STAFF)
    fake.mode = "fail"
    say(desk, "Je veux parler à quelqu'un", user="client")
    say(desk, "我们马上处理", user="s1", thread_id="1", **STAFF)
    deliver(desk, sender)
    staff_line = next(m for m in sender.sent if "Je veux parler" in m.text)
    assert desk.knowledge.texts.get("staff.ticket.untranslated", "zh") in staff_line.text
    relayed = [m for m in sender.sent if m.to == "client"][-1]
    assert relayed.text.startswith("我们马上处理")
    assert desk.knowledge.texts.get("handoff.untranslated", "fr") in relayed.text


def test_two_staff_claim_at_once_one_wins(desk: App) -> None:
    say(desk, "/human", user="c9")
    first = press(desk, "claim:1", user="s1", **STAFF)
    second = press(desk, "claim:1", user="s2", **{**STAFF, "display_name": "Ana"})
    assert "Li Wei" in first[0].text
    assert second[0].text == desk.knowledge.texts.get(
        "staff.ticket.already_claimed", "zh", ticket=1, agent="Li Wei"
    )


def test_staff_buttons_refused_for_customers(desk: App) -> None:
    say(desk, "/human", user="c9")
    refused = press(desk, "claim:1", user="c9")
    assert refused[0].text == desk.knowledge.texts.get("staff.only", "en")
    with desk.sessions() as session:
        assert session.get(Ticket, 1).state == "open"  # type: ignore[union-attr]


def test_unclaimed_ticket_is_reannounced_after_its_sla(desk: App, clock: ManualClock) -> None:
    from handlers.handoff import sla_sweep

    say(desk, "/human", user="c9")  # normal priority: 120 minutes
    with desk.sessions() as session, session.begin():
        assert sla_sweep(desk.services, session) == 0
    clock.advance(minutes=121)
    with desk.sessions() as session, session.begin():
        assert sla_sweep(desk.services, session) == 1
        assert sla_sweep(desk.services, session) == 0  # once
    row = outbox_rows(desk, "ticket.sla")[0]
    assert row.payload["mention"] is True and "121" in row.payload["text"]
    listing = say(desk, "/tickets", user="s1", **STAFF)
    assert "#1 · 121" in listing[0].text


def test_restart_mid_handoff_loses_nothing(
    desk: App, knowledge, db_url: str, clock: ManualClock
) -> None:  # type: ignore[no-untyped-def]
    say(desk, "/human", user="c9")
    press(desk, "claim:1", user="s1", **STAFF)
    say(desk, "are you there?", user="c9")
    desk.close()  # crash before anything was delivered
    again = build_app(desk.settings, clock=clock, staff_channels=["console"], knowledge=knowledge)
    sender = RecordingSender()
    deliver(again, sender)
    texts = [m.text for m in sender.sent]
    assert any("#1" in t for t in texts) and any("are you there?" in t for t in texts)
    with again.sessions() as session:
        assert session.get(Ticket, 1).state == "claimed"  # type: ignore[union-attr]
    assert say(again, "still there?", user="c9") == []  # still relayed, not the bot
    again.close()


async def test_delivery_starts_when_a_commit_queues_something(desk: App) -> None:
    """No waiting for the next poll: the commit that queued a staff card wakes the worker,
    whichever thread it ran in."""
    sender = RecordingSender()
    deliverer = Deliverer(desk.sessions, {"console": sender}, clock=desk.services.clock)
    worker = asyncio.create_task(deliverer.run_forever(poll_seconds=3600))
    try:
        await asyncio.sleep(0)
        await asyncio.to_thread(say, desk, "I want to talk to a real person")
        async with asyncio.timeout(10):
            while not sender.sent:
                await asyncio.sleep(0.01)
    finally:
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker
    assert sender.sent[0].to == "staff" and "#1" in sender.sent[0].text


def staff_texts(app: App) -> list[str]:
    return [row.payload["text"] for row in outbox_rows(app) if row.kind.startswith("ticket.")]


def test_untranslated_tag_only_where_languages_really_differ(app: App) -> None:
    """No translator configured, staff read Chinese: the card says "translation unavailable"
    for an English sentence, not for an order number or a Chinese customer (and a bare
    /human is no line of the ticket at all)."""
    tag = app.knowledge.texts.get("staff.ticket.untranslated", "zh")
    say(app, "/human", user="en-customer")
    say(app, "10005", user="en-customer")
    card, number = staff_texts(app)
    assert "/human" not in card and tag not in card
    assert number == "10005"
    say(app, "The parcel arrived broken and I want my money back", user="en-customer")
    assert tag in staff_texts(app)[-1] and "parcel arrived broken" in staff_texts(app)[-1]
    say(app, "包裹坏了，我要找人工客服", user="zh-customer")
    assert "包裹坏了" in staff_texts(app)[-1] and tag not in staff_texts(app)[-1]


@pytest.mark.parametrize(
    ("text", "neutral"),
    [
        ("/human", True),
        ("10005", True),
        ("#10234", True),
        ("mia@example.com", True),
        ("https://example.com/track/JD0123456789", True),
        ("JD0123456789 10115", True),
        ("ok", False),
        ("where is 10005?", False),
        ("包裹", False),
    ],
)
def test_language_neutral(text: str, neutral: bool) -> None:
    from knowledge.translation import language_neutral

    assert language_neutral(text) is neutral


def test_same_language() -> None:
    from knowledge.translation import same_language

    assert same_language("zh", "zh-CN") and same_language("EN", "en")
    assert not same_language("en", "zh") and not same_language(None, "zh")

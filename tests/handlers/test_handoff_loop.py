"""Issue 14, a handoff that closes, through the Router in three languages: the conversation before
"Talk to a person" reaches staff, FAQ questions are answered while the ticket waits and offered
to staff once it is claimed, /claim and /resolve, a neutral or an apologetic first reply, times
in the customer's language, and off-topic messages that open no ticket."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from bot.app import App, build_app
from bot.config import Settings
from store.clock import ManualClock
from store.models import Ticket, TicketMessage
from tests.fakes.translator_api import FakeTranslator
from tests.handlers.conversation import outbox_rows, press, say

STAFF = {"is_staff": True, "in_staff_chat": True, "display_name": "Li Wei"}


@dataclass(frozen=True)
class Customer:
    """What one customer writes, in their language."""

    language: str
    first_question: str  # to the bot, before asking for a person
    waiting_question: str  # an FAQ question while the ticket waits
    waiting_words: str  # something for the team while it waits
    claimed_question: str  # an FAQ question once someone has claimed the ticket
    first_entry: str
    waiting_entry: str
    claimed_entry: str


CUSTOMERS = [
    Customer("de", "Wie lange dauert der Versand?", "Welche Zahlungsarten gibt es?",
             "Ich warte noch auf Ihre Antwort.", "Wie kann ich etwas zurückschicken?",
             "shipping_time", "payment_methods", "returns_policy"),
    Customer("es", "¿Cuánto tarda el envío?", "¿Qué métodos de pago aceptan?",
             "Sigo esperando una respuesta.", "¿Cómo puedo devolver un artículo?",
             "shipping_time", "payment_methods", "returns_policy"),
    Customer("ja", "配送にはどのくらいかかりますか？", "支払い方法は何がありますか？",
             "まだ返事を待っています。", "返品はどうすればいいですか？",
             "shipping_time", "payment_methods", "returns_policy"),
]  # fmt: skip


@pytest.fixture
def desk(db_url: str, clock: ManualClock, knowledge, translator: FakeTranslator) -> Iterator[App]:  # type: ignore[no-untyped-def]
    settings = Settings(
        store={"url": db_url},
        translation={"provider": "libre", "url": translator.url, "timeout": 2},
    )
    app = build_app(settings, clock=clock, staff_channels=["console"], knowledge=knowledge)
    yield app
    app.close()


def text(app: App, key: str, language: str, **values: object) -> str:
    return app.knowledge.texts.get(key, language, **values)


def to_customer(app: App, user: str) -> list[dict]:  # type: ignore[type-arg]
    """What the outbox holds for the customer's chat, oldest first."""
    return [row.payload for row in outbox_rows(app) if row.payload.get("to") == user]


def faq_answer(app: App, entry: str, language: str) -> str:
    return app.knowledge.texts.fill(app.knowledge.kb.faq[language][entry].answer)


@pytest.mark.parametrize("who", CUSTOMERS, ids=[c.language for c in CUSTOMERS])
def test_the_handoff_scenario_closes_the_loop(desk: App, who: Customer) -> None:
    lang, user = who.language, f"customer-{who.language}"

    # the bot answers first; then the customer taps "Talk to a person"
    answered = say(desk, who.first_question, user=user)
    assert answered[0].text == faq_answer(desk, who.first_entry, lang)
    opened = press(desk, "human", user=user)
    assert [r.language for r in opened] == [lang]
    assert opened[0].text.startswith(text(desk, "escalation.opened_neutral", lang)[:8])
    assert not opened[0].text.startswith(text(desk, "escalation.opened", lang)[:8])

    # staff see the conversation before the handoff, translated, and no "/human"
    card = outbox_rows(desk, "ticket.new")[0].payload["text"]
    assert text(desk, "staff.ticket.before_handoff", "zh") in card
    assert f"[zh] {who.first_question}" in card and who.first_question in card
    assert text(desk, "staff.ticket.said_bot", "zh", text="")[:3] in card
    assert "/human" not in card
    with desk.sessions() as session:
        lines = session.scalars(select(TicketMessage).order_by(TicketMessage.id)).all()
    assert [(m.author, m.before_handoff) for m in lines] == [("customer", True), ("bot", True)]

    # while it waits, FAQ questions are answered in the customer's language and join the ticket
    waiting = say(desk, who.waiting_question, user=user)
    assert [r.language for r in waiting] == [lang, lang]
    assert waiting[0].text == faq_answer(desk, who.waiting_entry, lang)
    assert waiting[1].text == text(desk, "escalation.added_answered", lang, ticket=1)
    added = say(desk, who.waiting_words, user=user)
    assert [(r.text, r.language) for r in added] == [
        (text(desk, "escalation.added", lang, ticket=1), lang)
    ]
    thread = [row.payload["text"] for row in outbox_rows(desk, "ticket.message")]
    assert any(who.waiting_question in line for line in thread)
    assert any(who.waiting_words in line for line in thread)

    # /claim in the staff chat; the customer is told in their language
    claimed = say(desk, "/claim 1", user="s1", **STAFF)
    assert claimed[0].text == text(desk, "staff.ticket.claimed_by", "zh", agent="Li Wei")
    assert to_customer(desk, user)[-1]["text"] == text(
        desk, "handoff.claimed", lang, agent="Li Wei"
    )

    # after the claim the bot keeps quiet; staff get the FAQ answer to send, in one press
    assert say(desk, who.claimed_question, user=user) == []
    suggestion = outbox_rows(desk, "ticket.suggestion")[-1].payload
    send = suggestion["buttons"][0][0][1]
    assert send == f"answer:1:{who.claimed_entry}"
    assert suggestion["thread_key"] == "ticket:1"
    before = len(to_customer(desk, user))
    press(desk, send, user="s1", **STAFF)
    sent = to_customer(desk, user)[before:]
    assert [m["text"] for m in sent] == [faq_answer(desk, who.claimed_entry, lang)]

    # /resolve asks for a rating in the customer's language; the rating is kept
    resolved = say(desk, "/resolve 1", user="s1", **STAFF)
    assert resolved[0].text == text(desk, "staff.ticket.resolved_by", "zh", agent="Li Wei")
    closing = to_customer(desk, user)[-2:]
    assert closing[0]["text"] == text(desk, "handoff.resolved", lang)
    assert closing[1]["text"] == text(desk, "handoff.satisfaction", lang)
    assert [b[1] for b in closing[1]["buttons"][0]] == [f"rate:1:{n}" for n in range(1, 6)]
    thanks = say(desk, "5", user=user)
    assert [(r.text, r.language) for r in thanks] == [
        (text(desk, "handoff.satisfaction_thanks", lang), lang)
    ]
    with desk.sessions() as session:
        ticket = session.get(Ticket, 1)
        assert ticket is not None
        assert (ticket.state, ticket.satisfaction, ticket.language) == ("resolved", 5, lang)


@pytest.mark.parametrize(
    ("language", "words", "key"),
    [
        ("en", "I'd like to talk to a person", "escalation.opened_neutral"),
        ("de", "Ich möchte mit einem Menschen sprechen", "escalation.opened_neutral"),
        ("en", "The parcel arrived broken, I want a refund", "escalation.opened"),
    ],
)
def test_only_a_complaint_opens_with_an_apology(
    desk: App, language: str, words: str, key: str
) -> None:
    opened = say(desk, words, user="c1")
    assert opened[0].language == language
    before_when = text(desk, key, language, ticket=1, when="{when}").split("{when}")[0]
    assert opened[0].text.startswith(before_when)


@pytest.mark.parametrize(
    ("language", "weekday"), [("de", "Montag"), ("es", "lunes"), ("ja", "月曜日")]
)
def test_out_of_hours_times_are_in_the_customers_language(
    desk: App, clock: ManualClock, language: str, weekday: str
) -> None:
    clock.advance(days=4)  # Saturday 2026-03-14: the team is back on Monday at 09:00
    say(desk, f"/language {language}", user="c1")
    opened = press(desk, "human", user="c1")[0].text
    assert weekday in opened and "16" in opened
    assert "Europe/Berlin" not in opened and "2026-03-16" not in opened


@pytest.mark.parametrize(
    ("language", "off_topic"),
    [
        ("en", ["What's the weather like today?", "Write me a poem about cats"]),
        ("de", ["Wie wird das Wetter morgen?", "Schreib mir ein Gedicht über Katzen"]),
        ("es", ["¿Qué tiempo hace hoy?", "Escríbeme un poema sobre gatos"]),
    ],
)
def test_off_topic_gets_the_scope_answer_and_no_ticket(
    desk: App, language: str, off_topic: list[str]
) -> None:
    for words in off_topic:
        replies = say(desk, words, user="c1")
        assert [(r.text, r.language) for r in replies] == [
            (text(desk, "fallback.out_of_scope", language), language)
        ]
    with desk.sessions() as session:
        assert session.scalar(select(func.count(Ticket.id))) == 0


def test_a_bare_human_command_files_no_line_but_human_with_words_does(desk: App) -> None:
    say(desk, "/human", user="c1")
    say(desk, "/human the lid is missing", user="c2")
    with desk.sessions() as session:
        lines = session.scalars(select(TicketMessage).order_by(TicketMessage.id)).all()
    assert [(m.ticket_id, m.text) for m in lines] == [(2, "the lid is missing")]


def test_ticket_commands_name_their_usage_and_list_by_scope(desk: App) -> None:
    assert say(desk, "/claim", user="s1", **STAFF)[0].text == text(
        desk, "staff.usage", "zh", usage="/claim 7"
    )
    assert say(desk, "/claim 99", user="s1", **STAFF)[0].text == text(
        desk, "staff.not_found", "zh", query="#99"
    )
    say(desk, "/human", user="c1")
    say(desk, "/human", user="c2")
    say(desk, "/claim #2", user="s1", **STAFF)
    mine = say(desk, "/tickets mine", user="s1", **STAFF)[0].text
    waiting = say(desk, "/tickets", user="s2", **{**STAFF, "display_name": "Ana"})[0].text
    assert mine.startswith("#2 ") and "#1 " not in mine
    assert waiting.splitlines()[0].startswith("#1 ") and len(waiting.splitlines()) == 2
    assert text(desk, "staff.ticket.state.open", "zh") in waiting.splitlines()[0]
    say(desk, "/resolve 2", user="s1", **STAFF)
    assert "#2 " not in say(desk, "/tickets open", user="s1", **STAFF)[0].text
    assert "#2 " in say(desk, "/tickets all", user="s1", **STAFF)[0].text
    assert say(desk, "/note 1 rang the customer", user="s1", **STAFF)[0].text == text(
        desk, "staff.ticket.note_kept", "zh"
    )
    refused = say(desk, "/claim 1", user="c1")
    assert refused[0].text == text(desk, "staff.only", "en")
    with desk.sessions() as session:
        notes = session.scalars(select(TicketMessage).where(TicketMessage.author == "note")).all()
    assert [(n.ticket_id, n.text) for n in notes] == [(1, "rang the customer")]

"""The customer pipeline through the Router: answers, languages, orders, disputes, fallbacks."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from bot.app import App, build_app, build_knowledge
from bot.config import Settings
from knowledge.classifier import Action
from store.demo import generate_demo_shop
from store.models import Contact, ConversationEntry, FaqFeedback, Order, Ticket
from tests.handlers.conversation import outbox_rows, press, say


def answer(app: App, language: str, entry_id: str) -> str:
    entry = app.knowledge.kb.faq[language][entry_id]
    return app.knowledge.texts.fill(entry.answer)


def test_faq_answer_in_the_customers_language_with_feedback_buttons(app: App) -> None:
    replies = say(app, "How long does delivery take to Canada?")
    assert replies[0].text == answer(app, "en", "shipping_time")
    actions = [b.action for row in replies[0].buttons for b in row]
    assert actions == ["helpful:yes:shipping_time", "helpful:no:shipping_time"]
    press(app, "helpful:no:shipping_time")
    with app.sessions() as session:
        feedback = session.scalar(select(FaqFeedback))
        assert feedback is not None and not feedback.helpful and feedback.language == "en"
    german = say(app, "Wie lange dauert der Versand nach Österreich?", user="c2")
    assert german[0].text == answer(app, "de", "shipping_time")


def test_language_is_remembered_for_short_messages(app: App) -> None:
    say(app, "Bonjour, combien de temps prend la livraison en Belgique ?")
    replies = say(app, "ok 👍 merci")
    assert replies[0].language == "fr"
    with app.sessions() as session:
        contact = session.scalar(select(Contact))
        assert contact is not None and contact.language == "fr"


def test_language_command_wins_over_detection(app: App) -> None:
    chosen = say(app, "/language de")
    assert chosen[0].language == "de"
    replies = say(app, "How long does delivery take?")
    assert replies[0].language == "de"
    assert replies[0].text == answer(app, "de", "shipping_time")
    refused = say(app, "/language xx")
    assert "xx" not in refused[0].text and "Deutsch" in refused[0].text
    buttons = say(app, "/language")[0].buttons
    assert {b.action for row in buttons for b in row} >= {"lang:ja", "lang:ar"}
    assert press(app, "lang:ja")[0].language == "ja"


def test_language_hint_decides_a_one_word_message(app: App) -> None:
    replies = say(app, "ok", language_hint="pt-BR")
    assert replies[0].language == "pt"


@pytest.fixture
def shop(app: App) -> Order:
    with app.sessions() as session, session.begin():
        generate_demo_shop(session, orders=30, products=10, seed=5, today=date(2026, 3, 10))
        order = session.scalars(select(Order).where(Order.status == "delivered")).first()
        assert order is not None
        session.expunge(order)
        return order


def test_order_needs_verification_and_is_shown_after_it(app: App, shop: Order) -> None:
    asked = say(app, f"where is my order #{shop.id}")
    assert shop.id in asked[0].text and shop.email not in asked[0].text
    wrong = say(app, "someone@example.org")
    unknown = say(app, "/order 99999999")
    unknown_proof = say(app, "someone@example.org")
    # "no such order" and "not yours" read the same apart from the number
    assert wrong[0].text.replace(shop.id, "N") == unknown_proof[0].text.replace("99999999", "N")
    assert "99999999" in unknown[0].text
    say(app, f"/order {shop.id}")
    shown = say(app, shop.postcode)
    assert shown[0].private
    assert "delivered" in shown[0].text.lower() or shop.id in shown[0].text
    again = say(app, f"status of order {shop.id}")  # linked now: no second proof needed
    assert again[0].text == shown[0].text


def test_order_number_is_asked_for_when_missing(app: App) -> None:
    replies = say(app, "where is my order?")
    assert replies[0].text == app.knowledge.texts.get("order.ask_number", "en")


def test_wrong_guesses_are_rate_limited(app: App, shop: Order) -> None:
    for _ in range(5):
        say(app, f"/order {shop.id}")
        say(app, "nobody@example.org")
    say(app, f"/order {shop.id}")
    blocked = say(app, shop.email)
    assert "minutes" in blocked[0].text and shop.id not in blocked[0].text


def test_dispute_opens_one_ticket_and_notifies_staff(app: App, shop: Order) -> None:
    replies = say(app, f"Order {shop.id} arrived broken and I want my money back!")
    assert "#1" in replies[0].text
    with app.sessions() as session:
        ticket = session.scalar(select(Ticket))
        assert ticket is not None
        assert (ticket.reason, ticket.order_id, ticket.state) == ("damaged", shop.id, "open")
    cards = outbox_rows(app, "ticket.new")
    assert len(cards) == 1 and cards[0].channel == "console"
    assert "broken" in cards[0].payload["text"]
    assert [b[1] for b in cards[0].payload["buttons"][0]] == ["claim:1", "resolve:1", "bot:1"]
    follow = say(app, "hello?? anyone")
    assert "#1" in follow[0].text
    assert len(outbox_rows(app, "ticket.message")) == 1
    with app.sessions() as session:
        assert session.query(Ticket).count() == 1


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("still nothing, where is my order?", None),  # waiting: the order's status
        ("toujours rien reçu, où en est ma commande ?", None),
        ("three weeks and still nothing, where is my order?", "not_received"),
        ("still nothing, where is my order? I want my money back", "refund_demand"),
        ("it says delivered but I still haven't got it, where is my parcel?", "not_received"),
    ],
)
def test_still_waiting_asks_for_the_status_overdue_is_a_dispute(
    app: App, text: str, reason: str | None
) -> None:
    replies = say(app, text)
    with app.sessions() as session:
        ticket = session.scalar(select(Ticket))
    if reason is None:
        assert ticket is None
        language = replies[0].language
        assert replies[0].text == app.knowledge.texts.get("order.ask_number", language)
    else:
        assert ticket is not None and ticket.reason == reason


def test_chargeback_threat_is_urgent(app: App) -> None:
    say(app, "If you don't refund me I will file a chargeback with my bank")
    with app.sessions() as session:
        ticket = session.scalar(select(Ticket))
        assert ticket is not None and ticket.reason == "chargeback" and ticket.priority == 0


def test_off_topic_gets_a_scope_answer_and_no_ticket(app: App) -> None:
    first = say(app, "what's the weather like in Paris tomorrow?")
    assert first[0].text == app.knowledge.texts.get("fallback.out_of_scope", "en")
    say(app, "can you write me a poem about cats")
    with app.sessions() as session:
        assert session.scalar(select(Ticket)) is None


def test_two_fallbacks_in_a_row_open_a_ticket(app: App) -> None:
    # messages the bot does not understand (not off-topic ones, which get a scope answer)
    unclear = [
        text
        for text in ("zzkx pflorb wimmick", "xkq plomb vortz", "qwxz vbnm plokij")
        if app.knowledge.classifier.classify(text).action is Action.FALLBACK
        and app.knowledge.classifier.classify(text).intent != "out_of_scope"
    ]
    assert len(unclear) >= 2, unclear
    first = say(app, unclear[0])
    assert first[0].text == app.knowledge.texts.get("fallback.text", first[0].language)
    assert [b.action for row in first[0].buttons for b in row] == ["human"]
    say(app, unclear[1])
    with app.sessions() as session:
        ticket = session.scalar(select(Ticket))
        assert ticket is not None and ticket.reason == "unanswered"


def test_are_you_a_bot_is_answered_with_a_person_one_button_away(app: App) -> None:
    reply = say(app, "are you a bot?")[0]
    assert reply.text == app.knowledge.texts.get("smalltalk.bot_question", "en")
    assert [b.action for row in reply.buttons for b in row] == ["human"]


def test_smalltalk_empty_nontext_and_unknown_command(app: App) -> None:
    assert say(app, "thanks!")[0].text == app.knowledge.texts.get("smalltalk.thanks", "en")
    assert say(app, "   ")[0].text == app.knowledge.texts.get("input.empty", "en")
    assert say(app, "/frobnicate")[0].text == app.knowledge.texts.get("command.unknown", "en")
    from handlers.messages import IncomingMessage, MessageKind

    photo = app.router.handle(IncomingMessage("console", "c1", "c1", kind=MessageKind.NON_TEXT))
    assert photo[0].text == app.knowledge.texts.get("input.non_text", "en")


@pytest.mark.parametrize(
    "text",
    [
        "👍👍👍",
        "\u202eتست\u202c <b>x</b> *_[`",
        "\x00\x01\x02",
        "a" * 200_000,
        "ملاحظة " * 50,
        "'; DROP TABLE orders; --",
        "{shop_name} {0} %s {{",
    ],
)
def test_hostile_input_gets_an_answer(app: App, text: str) -> None:
    replies = say(app, text)
    assert replies and all(reply.text for reply in replies)
    with app.sessions() as session:
        assert session.query(ConversationEntry).count() >= 2


def test_staff_commands_refused_for_customers(app: App, shop: Order) -> None:
    for command in ("/stock NW-TEE-BLK", "/tickets", "/alerts"):
        refused = say(app, command)
        assert refused[0].text == app.knowledge.texts.get("staff.only", "en")
    staff = say(app, f"/order {shop.id}", user="s1", is_staff=True, in_staff_chat=True)
    assert shop.email in staff[0].text


def test_conversation_is_logged(app: App) -> None:
    say(app, "How long does delivery take?")
    with app.sessions() as session:
        rows = session.scalars(select(ConversationEntry).order_by(ConversationEntry.id)).all()
    assert [r.direction for r in rows] == ["in", "out"]
    assert rows[0].action == "faq" and rows[0].intent == "shipping_time"


def test_missing_locale_answer_is_machine_translated(tmp_path, db_url, clock) -> None:  # type: ignore[no-untyped-def]
    from tests.fakes.translator_api import start_fake_translator
    from tests.knowledge.small_kb import write_small_kb

    fake, server = start_fake_translator()
    try:
        kb = write_small_kb(tmp_path / "kb")
        settings = Settings(
            store={"url": db_url},
            support={
                "knowledge_base": str(kb),
                "languages": ["en", "de"],
                "default_language": "en",
            },
            translation={"provider": "libre", "url": fake.url},
        )
        app = build_app(
            settings, clock=clock, staff_channels=[], knowledge=build_knowledge(settings)
        )
        say(app, "/language de")  # chosen German, writes English; German has no returns entry
        replies = say(app, "How do I return an item?")
        translated = replies[0].text
        assert translated.startswith("[de] You can return items within 30 days.")
        assert "DE (machine translation)" in translated
        fake.mode = "fail"
        replies = say(app, "How do I return an item?")
        assert replies[0].text.startswith("[de]")  # served from the store's cache
        with app.sessions() as session, session.begin():
            from store.models import TranslationCacheEntry

            session.query(TranslationCacheEntry).delete()
        replies = say(app, "How do I return an item?")
        assert replies[0].text == "You can return items within 30 days."  # provider down
        app.close()
    finally:
        server.shutdown()

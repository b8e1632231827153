"""``Router.handle_batch``: a burst from many chats in one transaction, each message answered as
if it had come alone, and one failing message costing the others nothing."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import event, func, select, text

from bot.app import App, build_app
from bot.config import Settings
from handlers.messages import IncomingMessage, MessageKind
from knowledge.classifier import Classification, ClassifyRequest
from store.clock import ManualClock
from store.models import Contact, ConversationEntry, Ticket
from tests.handlers.conversation import press, say

STAFF = {"is_staff": True, "in_staff_chat": True, "display_name": "Li Wei"}
BURST = [
    ("c1", "How long does delivery take to Canada?", "en"),
    ("c2", "Wie lange dauert der Versand nach Österreich?", "de"),
    ("c3", "hello", "en"),
    ("c4", "My parcel arrived damaged, I want a refund", "en"),
    ("c5", "你们接受哪些付款方式？", "zh"),
]


def _incoming(user: str, words: str, hint: str | None = None) -> IncomingMessage:
    return IncomingMessage.from_text("console", user, user, words, language_hint=hint)


def _second_app(settings: Settings, clock: ManualClock, knowledge) -> App:  # type: ignore[no-untyped-def]
    return build_app(settings, clock=clock, staff_channels=["console"], knowledge=knowledge)


def test_a_batch_answers_each_message_as_if_it_came_alone(
    app: App, tmp_path, clock: ManualClock, knowledge
) -> None:  # type: ignore[no-untyped-def]
    batched = app.router.handle_batch([_incoming(u, t, h) for u, t, h in BURST])
    alone_app = _second_app(
        Settings(store={"url": f"sqlite:///{tmp_path / 'alone.db'}"}), clock, knowledge
    )
    try:
        alone = [alone_app.router.handle(_incoming(u, t, h)) for u, t, h in BURST]
    finally:
        alone_app.close()
    assert [[(r.text, r.language, r.buttons) for r in rs] for rs in batched] == [
        [(r.text, r.language, r.buttons) for r in rs] for rs in alone
    ]
    assert batched[1][0].language == "de" and batched[4][0].language == "zh"
    with app.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Contact)) == len(BURST)
        logged = session.scalar(select(func.count()).select_from(ConversationEntry))
        assert logged == 2 * len(BURST)  # what came in and what went out, for each
        ticket = session.scalar(select(Ticket))
        assert ticket is not None and ticket.reason in ("damaged", "refund_demand")


def test_a_batch_reaches_the_sentence_encoder_in_one_call(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    semantic = app.services.classifier.semantic
    assert semantic is not None
    encode_many, calls = semantic.encode_many, []

    def counted(texts):  # type: ignore[no-untyped-def]
        calls.append(list(texts))
        return encode_many(texts)

    monkeypatch.setattr(semantic, "encode_many", counted)
    burst = [("c6", "what does shipping to Japan cost?", "en"), *BURST]
    replies = app.router.handle_batch([_incoming(u, t, h) for u, t, h in burst])
    assert all(replies)
    assert len(calls) == 1 and len(calls[0]) >= 2  # the messages the lexicons left open


def test_returning_customers_in_a_batch_keep_what_the_bot_knows(app: App) -> None:
    say(app, "/language fr", user="c1")
    say(app, "hello", user="c2")
    replies = app.router.handle_batch(
        [_incoming("c1", "hello"), _incoming("c2", "hallo"), _incoming("c9", "hi")]
    )
    assert replies[0][0].language == "fr"  # the explicit choice stands
    with app.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Contact)) == 3


def _fail_on_log_text(app: App, poison: str) -> None:
    """A real database failure: a trigger refuses to log ``poison``."""
    with app.engine.begin() as conn:
        if app.engine.dialect.name == "sqlite":
            conn.execute(
                text(
                    "CREATE TRIGGER refuse BEFORE INSERT ON conversation_log "
                    f"WHEN NEW.text = '{poison}' BEGIN SELECT RAISE(ABORT, 'refused'); END"
                )
            )
        else:
            conn.execute(
                text(
                    "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN "
                    f"IF NEW.text = '{poison}' THEN RAISE EXCEPTION 'refused'; END IF; "
                    "RETURN NEW; END $$ LANGUAGE plpgsql"
                )
            )
            conn.execute(
                text(
                    "CREATE TRIGGER refuse BEFORE INSERT ON conversation_log "
                    "FOR EACH ROW EXECUTE FUNCTION refuse()"
                )
            )


def test_one_failing_message_costs_the_others_nothing(app: App, caplog) -> None:  # type: ignore[no-untyped-def]
    poison = "this one breaks the log"
    _fail_on_log_text(app, poison)
    messages = [_incoming(u, t, h) for u, t, h in BURST[:3]]
    messages.insert(1, _incoming("bad", poison, "en"))
    replies = app.router.handle_batch(messages)
    assert len(replies) == 4
    fallback = app.services.texts.get("fallback.text", "en")
    assert [r.text for r in replies[1]] == [fallback]
    assert all(rs and rs[0].text != fallback for i, rs in enumerate(replies) if i != 1)
    with app.sessions() as session:
        stored = set(session.scalars(select(Contact.external_id)))
        assert stored == {"c1", "c2", "c3"}  # the failing message left nothing behind
        texts = set(session.scalars(select(ConversationEntry.text)))
    assert BURST[0][1] in texts and poison not in texts
    assert poison not in caplog.text  # failures are logged without the customer's words


def _count_transactions(app: App) -> list[int]:
    """A one-element list counting the transactions the router's sessions begin from now on."""
    began = [0]

    @event.listens_for(app.engine, "begin")
    def _began(_connection) -> None:  # type: ignore[no-untyped-def]
        began[0] += 1

    return began


def _poison_the_classifier(app: App, monkeypatch: pytest.MonkeyPatch, poison: str) -> list[str]:
    """Make the classifier raise (a bug in handling) for ``poison``; returns the texts it read."""
    classify_many, seen = app.services.classifier.classify_many, []

    def failing(requests: list[ClassifyRequest]) -> list[Classification]:
        seen.extend(request.text for request in requests)
        if any(request.text == poison for request in requests):
            raise ValueError(f"cannot classify {poison!r}")  # the message quotes the text
        return classify_many(requests)

    monkeypatch.setattr(app.services.classifier, "classify_many", failing)
    return seen


def test_a_poisoned_message_is_left_out_and_the_batch_retried_without_it(
    app: App,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    tmp_path,  # type: ignore[no-untyped-def]
    clock: ManualClock,
    knowledge,  # type: ignore[no-untyped-def]
) -> None:
    poison = "this one breaks the classifier"
    seen = _poison_the_classifier(app, monkeypatch, poison)
    messages = [_incoming(u, t, h) for u, t, h in BURST]
    messages.insert(2, _incoming("bad", poison, "en"))
    began = _count_transactions(app)
    replies = app.router.handle_batch(messages)
    # the batch, the batch without the poisoned message, the poisoned message alone: not one
    # transaction per message of the batch
    assert began[0] == 3
    # with the batch classified together (which fails, so each is classified alone), in
    # the batch, then alone
    assert seen.count(poison) == 3
    fallback = app.services.texts.get("fallback.text", "en")
    assert [r.text for r in replies[2]] == [fallback]
    alone_app = _second_app(
        Settings(store={"url": f"sqlite:///{tmp_path / 'alone.db'}"}), clock, knowledge
    )
    try:
        alone = [alone_app.router.handle(_incoming(u, t, h)) for u, t, h in BURST]
    finally:
        alone_app.close()
    assert [[r.text for r in rs] for i, rs in enumerate(replies) if i != 2] == [
        [r.text for r in rs] for rs in alone
    ]
    assert all(fallback not in [r.text for r in rs] for i, rs in enumerate(replies) if i != 2)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "ValueError" in errors[0].getMessage()
    assert poison not in caplog.text  # the error names the exception, not the message


def test_a_failure_no_message_raised_splits_the_batch_until_it_is_found(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    """The conversation log is written at commit, for the whole batch: the failing row cannot
    be blamed on a message, so the batch is halved; the others are still answered right."""
    poison = "this one breaks the log at commit"
    _fail_on_log_text(app, poison)
    messages = [_incoming(f"c{n}", "hello", "en") for n in range(16)]
    messages[11] = _incoming("bad", poison, "en")
    began = _count_transactions(app)
    replies = app.router.handle_batch(messages)
    fallback = app.services.texts.get("fallback.text", "en")
    greeting = app.services.texts.get("smalltalk.greeting", "en")
    assert [rs[0].text for rs in replies] == [greeting] * 11 + [fallback] + [greeting] * 4
    assert began[0] <= 1 + 2 * 4  # halving 16 down to one: four levels, two halves each
    assert [r.levelno for r in caplog.records].count(logging.ERROR) == 1
    with app.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Contact)) == 15


def test_staff_and_customers_in_one_batch(app: App) -> None:
    """A resolve and the customer's next message in one burst: the rating question is answered
    (staff actions go first; the messages came at the same time, so either order is true)."""
    say(app, "I want to talk to a real person", user="c1")
    press(app, "claim:1", user="s1", **STAFF)
    resolve = IncomingMessage(
        "console", "s1", "staff", kind=MessageKind.BUTTON, action="resolve:1", **STAFF
    )
    replies = app.router.handle_batch([_incoming("c1", "5"), resolve])
    assert "Li Wei" in replies[1][0].text
    with app.sessions() as session:
        ticket = session.get(Ticket, 1)
        assert ticket is not None and ticket.state == "resolved" and ticket.satisfaction == 5


def test_one_users_messages_in_a_batch_are_handled_in_turn(app: App) -> None:
    """The same person in two chats: the second message sees the ticket the first opened."""
    dispute = _incoming("c1", "My parcel arrived damaged, I want a refund", "en")
    again = IncomingMessage.from_text("console", "c1", "group-7", "hello?", language_hint="en")
    replies = app.router.handle_batch([dispute, _incoming("c2", "hello", "en"), again])
    assert len(replies) == 3
    with app.sessions() as session:
        ticket = session.scalar(select(Ticket))
        assert ticket is not None
    added = app.services.texts.get("escalation.added", "en", ticket=ticket.id)
    assert replies[2][0].text == added  # joined the open ticket


def test_an_empty_batch_does_nothing(app: App) -> None:
    assert app.router.handle_batch([]) == []

"""``crossdesk chat`` as staff use it: a card's buttons pressed by number, ``>N`` answering ticket
N in every run (not a per-run counter), and the ticket commands typed in the terminal."""

from __future__ import annotations

import io

from bot.app import App
from bot.channels.console import ConsoleChannel, ConsoleSender
from bot.delivery import Deliverer
from handlers.messages import MessageKind
from tests.handlers.conversation import outbox_rows, press, say


def terminal(
    app: App, *, staff: bool, user: str = "console-customer"
) -> tuple[ConsoleChannel, io.StringIO]:
    """One run of ``crossdesk chat`` (``--staff`` with ``staff``): its channel and its screen."""
    screen = io.StringIO()
    deliverer = Deliverer(
        app.sessions, {"console": ConsoleSender(screen)}, clock=app.services.clock
    )
    return ConsoleChannel(app.router, deliverer, staff=staff, user=user, out=screen), screen


def typed(channel: ConsoleChannel, screen: io.StringIO, *lines: str) -> str:
    """What the terminal shows after ``lines`` were typed."""
    start = len(screen.getvalue())
    channel.run(lines)
    return screen.getvalue()[start:]


def to_customer(app: App, user: str) -> list[str]:
    return [row.payload["text"] for row in outbox_rows(app) if row.payload.get("to") == user]


def test_staff_press_card_buttons_by_number_and_answer_by_ticket_number(app: App) -> None:
    texts = app.knowledge.texts
    claim, resolve = (texts.get(f"staff.button.{b}", "zh") for b in ("claim", "resolve"))
    say(app, "/language de", user="kunde")
    say(app, "Wie lange dauert der Versand?", user="kunde")
    press(app, "human", user="kunde")

    # the staff terminal's next line delivers the new card, its buttons numbered
    staff, screen = terminal(app, staff=True)
    shown = typed(staff, screen, "/tickets")
    assert shown.startswith("bot: #1 ")
    card = shown.split("[ticket #1]", 1)[1]
    assert f"[1] {claim}" in card and "Wie lange dauert der Versand?" in card
    claimed = typed(staff, screen, "1")
    assert texts.get("staff.ticket.claimed_by", "zh", agent="console-staff") in claimed
    update = claimed.split("[ticket #1 (updated)]", 1)[1]
    assert f"[1] {resolve}" in update
    typed(staff, screen, ">1 您好")
    assert to_customer(app, "kunde")[-1].startswith("您好")

    # a new run numbers nothing afresh: >1 is still ticket 1, >2 the new ticket 2
    say(app, "/language es", user="cliente")
    say(app, "/human", user="cliente")
    again, again_screen = terminal(app, staff=True)
    assert "[ticket #2]" in typed(again, again_screen, "/tickets")
    typed(again, again_screen, ">1 马上处理")
    answered = typed(again, again_screen, ">2 您好")  # answering claims it: the card changes
    assert to_customer(app, "cliente")[-1].startswith("您好")
    assert to_customer(app, "kunde")[-1].startswith("马上处理")
    assert not any(text.startswith("马上处理") for text in to_customer(app, "cliente"))

    # "1" on the updated card of ticket 2 is Resolve; the customer is asked to rate
    assert f"[1] {resolve}" in answered.split("[ticket #2 (updated)]", 1)[1]
    resolved = typed(again, again_screen, "1")
    assert texts.get("staff.ticket.resolved_by", "zh", agent="console-staff") in resolved
    assert to_customer(app, "cliente")[-1] == texts.get("handoff.satisfaction", "es")

    # a note by command stays internal
    assert texts.get("staff.ticket.note_kept", "zh") in typed(again, again_screen, "/note 1 很急")
    assert not any("很急" in text for text in to_customer(app, "kunde"))


def test_a_customer_presses_the_rating_buttons_delivered_after_a_reply(app: App) -> None:
    customer, screen = terminal(app, staff=False, user="kunde")
    typed(customer, screen, "/language de", "/human")
    say(app, "/resolve 1", user="s1", is_staff=True, in_staff_chat=True)
    shown = typed(customer, screen, "/help")  # the rating question arrives after the help
    assert "[5] 5" in shown
    pressed = customer.message_for("5")
    assert (pressed.kind, pressed.action) == (MessageKind.BUTTON, "rate:1:5")
    thanks = typed(customer, screen, "5")
    assert app.knowledge.texts.get("handoff.satisfaction_thanks", "de") in thanks


def test_a_customer_cannot_press_the_staff_cards_buttons(app: App) -> None:
    customer, screen = terminal(app, staff=False, user="kunde")
    shown = typed(customer, screen, "/human")
    assert "[ticket #1]" in shown and "[1] " in shown  # printed in the customer's terminal ...
    assert customer.message_for("1").kind is MessageKind.TEXT  # ... but not theirs to press

"""What a customer's commands and buttons do: /start, /help, /order, /language, /human, and
the buttons on the bot's answers (an FAQ topic, "was this helpful?", a person, a language, a
rating). The router decides that a message is one of these; this module answers it.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from handlers import customer, handoff, staff_alerts
from handlers.input_bounds import order_number
from handlers.messages import Button, Command, IncomingMessage, Reply
from handlers.services import Services
from store.customers import remember_language
from store.models import Contact

COMMANDS = frozenset({"start", "help", "order", "language", "human"})


def _text(services: Services, contact: Contact, key: str, **values: object) -> Reply:
    language = contact.language or services.support.default_language
    return Reply(services.texts.get(key, language, **values), language=language)


def answer_command(
    services: Services, session: Session, contact: Contact, command: Command
) -> list[Reply]:
    """A customer's slash command (a staff one is refused before it gets here)."""
    texts = services.texts
    language = contact.language or services.support.default_language
    if command.name == "start":
        return [welcome(services, contact)]
    if command.name == "help":
        return [_text(services, contact, "help.text")]
    if command.name == "order":
        order_id = order_number(command.args[0]) if command.args else None
        if command.args and order_id is None:  # 60 digits: no order has such a number
            return [_text(services, contact, "order.bad_number")]
        from handlers.orders import customer_order_reply

        return [customer_order_reply(services, session, contact, order_id, language)]
    if command.name == "language":
        return [choose_language(services, contact, command.args[0] if command.args else None)]
    if command.name == "human":  # "/human" alone says nothing; "/human <text>" does
        said = command.arg_text or None
        return [customer.escalate_reply(services, session, contact, "human", said, language, None)]
    return [Reply(texts.get("command.unknown", language), language=language)]


def welcome(services: Services, contact: Contact) -> Reply:
    """/start: a greeting with the most asked topics as buttons, and a person's button."""
    language = contact.language or services.support.default_language
    entries = services.kb.faq.get(language) or services.kb.faq.get(
        services.support.default_language, {}
    )
    topics = [
        e
        for e in ("shipping_time", "returns_policy", "tracking_howto", "payment_methods")
        if e in entries
    ]
    rows = [
        tuple(Button(entries[e].title, f"faq:{e}") for e in topics[i : i + 2])
        for i in range(0, len(topics), 2)
    ]
    rows.append((customer.human_button(services, language),))
    text = services.texts.get("start.welcome", language)
    return Reply(text, buttons=tuple(rows), language=language)


def choose_language(services: Services, contact: Contact, code: str | None) -> Reply:
    """/language [code]: the choice as buttons, or the language set."""
    languages = services.support.languages
    language = contact.language or services.support.default_language
    if code is None:
        rows = [
            tuple(
                Button(services.texts.get("language.self", c), f"lang:{c}")
                for c in languages[i : i + 3]
            )
            for i in range(0, len(languages), 3)
        ]
        return Reply(
            services.texts.get("language.choose", language),
            buttons=tuple(rows),
            language=language,
        )
    code = code.lower().split("-")[0]
    if code not in languages:
        names = ", ".join(f"{c} ({services.texts.get('language.self', c)})" for c in languages)
        return Reply(
            services.texts.get("language.unknown", language, languages=names), language=language
        )
    remember_language(contact, code, explicit=True)
    return Reply(services.texts.get("language.set", code), language=code)


def answer_button(
    services: Services, session: Session, contact: Contact, message: IncomingMessage
) -> list[Reply]:
    """A button a customer pressed; one meant for staff, or unknown, is refused politely."""
    action = message.action or ""
    language = contact.language or services.support.default_language
    kind, _, rest = action.partition(":")
    if kind == "faq" and rest:
        contact.unanswered_count = 0
        return [customer.faq_reply(services, rest, language)]
    if kind == "helpful":
        verdict, _, entry_id = rest.partition(":")
        if verdict not in ("yes", "no") or not customer.is_faq_entry(services, entry_id):
            return [_text(services, contact, "input.bad_button")]
        return [customer.record_feedback(services, session, contact, entry_id, verdict == "yes")]
    if kind == "human":
        return [customer.escalate_reply(services, session, contact, "human", None, language, None)]
    if kind == "lang":
        return [choose_language(services, contact, rest)]
    if kind == "rate":
        return handoff.rate(services, session, contact, rest)
    if handoff.is_staff_action(action) or staff_alerts.is_alert_action(action):
        return [_text(services, contact, "staff.only")]
    return [_text(services, contact, "input.bad_button")]

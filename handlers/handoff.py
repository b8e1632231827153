"""Human handoff: claim, relay in both languages, resolve, rate, and the unclaimed-ticket SLA.

While a ticket is open, the customer's messages join it and appear in the staff thread; once a
person claims it, the bot steps aside and relays: customer -> staff translated into the staff
language, staff -> customer translated into the customer's language, originals kept in the
transcript. A staff message starting with ``//`` is an internal note. When translation is
unavailable the original text goes through with a note: a message is never dropped.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from handlers import customer, escalation, suggestions
from handlers.input_bounds import bounded_int
from handlers.messages import IncomingMessage, Reply
from handlers.services import Services
from knowledge.classifier import Action
from store import outbox
from store.customers import TICKET_ACTIVITY, remember_language
from store.models import Contact, Ticket, TicketMessage

STAFF_ACTIONS = ("claim", "resolve", "bot", suggestions.SEND_ACTION)
NOTE_PREFIX = "//"


def is_staff_action(action: str) -> bool:
    return action.partition(":")[0] in STAFF_ACTIONS


def _staff_reply(services: Services, key: str, **values: object) -> Reply:
    lang = services.support.staff_language
    return Reply(services.texts.get(key, lang, **values), language=lang)


def _to_customer(
    services: Services,
    session: Session,
    contact: Contact,
    text: str,
    buttons: list[list[list[str]]] | None = None,
) -> None:
    services.notify_chat(
        session,
        contact.channel,
        contact.chat_id,
        "handoff.customer",
        {"text": text, "buttons": buttons or []},
    )


def ask_rating(
    services: Services, session: Session, ticket: Ticket, contact: Contact, told_key: str
) -> None:
    """Tell the customer their closed ticket is closed (text ``told_key``) and ask for a 1-5
    rating, with a button per score; their next message may also be the number."""
    texts, lang = services.texts, ticket.language
    ticket.awaiting_satisfaction = True
    rating = [[[str(n), f"rate:{ticket.id}:{n}"] for n in range(1, 6)]]
    _to_customer(services, session, contact, texts.get(told_key, lang))
    _to_customer(services, session, contact, texts.get("handoff.satisfaction", lang), rating)


def update_card(services: Services, session: Session, ticket: Ticket, contact: Contact) -> None:
    """Queue an edit of the ticket's staff card, so it shows the state the ticket is in now."""
    payload = escalation.card_payload(services, session, ticket, contact)
    payload["edit_key"] = payload.pop("ref_key")
    services.notify_staff(session, "ticket.card", payload)


def staff_action(services: Services, session: Session, message: IncomingMessage) -> list[Reply]:
    """Claim, Resolve or Back to bot, pressed by a staff member."""
    kind, _, raw_id = (message.action or "").partition(":")
    if kind == suggestions.SEND_ACTION:
        return suggestions.send_answer(services, session, message)
    ticket_id = bounded_int(raw_id)
    if ticket_id is None:  # forged or garbled: no ticket has this number
        return [_staff_reply(services, "staff.not_found", query=f"#{raw_id[:20]}")]
    agent = message.display_name or message.user_id
    now = services.clock()
    if kind == "claim":
        # one UPDATE decides who wins when two people press Claim at once
        claimed = session.execute(
            update(Ticket)
            .where(Ticket.id == ticket_id, Ticket.state == "open")
            .values(state="claimed", assignee=agent, claimed_at=now)
        )
        won = cast("CursorResult[Any]", claimed).rowcount  # an UPDATE's result is a cursor's
        ticket = session.get(Ticket, ticket_id)
        if ticket is None:
            return [_staff_reply(services, "staff.not_found", query=f"#{raw_id}")]
        session.refresh(ticket)
        if not won:
            return [
                _staff_reply(
                    services,
                    "staff.ticket.already_claimed",
                    ticket=ticket.id,
                    agent=ticket.assignee or ticket.state,
                )
            ]
        contact = session.get(Contact, ticket.contact_id)
        assert contact is not None
        _to_customer(
            services,
            session,
            contact,
            services.texts.get("handoff.claimed", ticket.language, agent=agent),
        )
        update_card(services, session, ticket, contact)
        return [_staff_reply(services, "staff.ticket.claimed_by", agent=agent)]
    ticket = session.get(Ticket, ticket_id)
    if ticket is None or ticket.state == "resolved":
        return [_staff_reply(services, "staff.not_found", query=f"#{raw_id}")]
    contact = session.get(Contact, ticket.contact_id)
    assert contact is not None
    ticket.state, ticket.resolved_at = "resolved", now
    ticket.assignee = ticket.assignee or agent
    texts, lang = services.texts, ticket.language
    if kind == "resolve":
        ask_rating(services, session, ticket, contact, "handoff.resolved")
    else:
        _to_customer(
            services,
            session,
            contact,
            texts.get("handoff.back_to_bot", lang),
            [[[texts.get("button.human", lang), "human"]]],
        )
    update_card(services, session, ticket, contact)
    return [_staff_reply(services, "staff.ticket.resolved_by", agent=agent)]


def add_note(services: Services, session: Session, ticket: Ticket, agent: str, text: str) -> None:
    """Keep an internal note of ``agent`` on ``ticket``: in the transcript, never sent."""
    session.add(
        TicketMessage(
            ticket_id=ticket.id,
            author="note",
            author_name=agent,
            text=text,
            created_at=services.clock(),
        )
    )


def _ticket_of_thread(
    services: Services, session: Session, message: IncomingMessage
) -> Ticket | None:
    if not message.thread_id:
        return None
    key = outbox.find_key_by_ref(session, message.channel, message.chat_id, message.thread_id)
    if not key or not key.startswith("ticket:"):
        return None
    return session.get(Ticket, int(key.split(":", 1)[1]))


def staff_message(services: Services, session: Session, message: IncomingMessage) -> list[Reply]:
    """A staff member wrote in a ticket's thread: relay it, or keep it as an internal note."""
    ticket = _ticket_of_thread(services, session, message)
    if ticket is None or ticket.state == "resolved":
        return []
    agent = message.display_name or message.user_id
    now = services.clock()
    text = message.text.strip()
    if not text:
        return []
    if text.startswith(NOTE_PREFIX):
        add_note(services, session, ticket, agent, text[len(NOTE_PREFIX) :].strip())
        return [_staff_reply(services, "staff.ticket.note_kept")]
    contact = session.get(Contact, ticket.contact_id)
    assert contact is not None
    if ticket.state == "open":  # answering a ticket claims it
        ticket.state, ticket.assignee, ticket.claimed_at = "claimed", agent, now
        update_card(services, session, ticket, contact)
    staff_language = services.support.staff_language
    translated = escalation.translate(services, text, staff_language, ticket.language)
    session.add(
        TicketMessage(
            ticket_id=ticket.id,
            author="staff",
            author_name=agent,
            text=text,
            language=staff_language,
            translated=translated,
            translated_language=ticket.language if translated else None,
            created_at=now,
        )
    )
    if translated is None:
        note = services.texts.get("handoff.untranslated", ticket.language)
        outgoing = f"{text}\n\n{note}"
    else:
        outgoing = translated
    _to_customer(services, session, contact, outgoing)
    return []


def customer_message(
    services: Services, session: Session, contact: Contact, message: IncomingMessage
) -> list[Reply] | None:
    """A customer with an open ticket or a pending rating; None lets the bot handle it.

    The message joins the ticket and its thread either way. While the ticket waits for a
    person, an FAQ question is answered at once (staff see that it was); once someone has
    claimed it, the bot stays quiet and offers the FAQ answer to staff instead. Replies are in
    the language of this message, which the ticket follows from now on.
    """
    rating, ticket = _rating_and_open_ticket(session, contact)
    if rating is not None:
        score = message.text.strip()
        rating.awaiting_satisfaction = False
        if re.fullmatch(r"[1-5]", score):
            return rate(services, session, contact, f"{rating.id}:{score}")
        return None
    if ticket is None or not message.text.strip():
        return None
    result = services.classifier.classify(
        message.text,
        previous_language=contact.language or ticket.language,
        language_hint=message.language_hint,
        explicit_language=contact.language if contact.language_explicit else None,
    )
    if result.language in services.support.languages:
        remember_language(contact, result.language)
        ticket.language = result.language
    language = ticket.language
    if result.action is Action.ESCALATE and result.intent in escalation.PRIORITY:
        escalation.raise_priority(ticket, result.intent)
    line = escalation.add_customer_message(services, session, ticket, message.text, language)
    services.notify_staff(
        session, "ticket.message", escalation.thread_payload(services, ticket, line)
    )
    entry = result.intent if result.action is Action.FAQ and result.sure else None
    if entry is not None and not customer.is_faq_entry(services, entry):
        entry = None
    if ticket.state == "claimed":
        if entry is not None:  # a person is on it: the answer is theirs to send
            suggestions.suggest(services, session, ticket, entry)
        return []
    texts = services.texts
    if entry is None:
        added = texts.get("escalation.added", language, ticket=ticket.id)
        return [Reply(added, language=language, private=True)]  # a ticket is nobody else's
    suggestions.note_bot_answer(services, session, ticket, entry)
    also = texts.get("escalation.added_answered", language, ticket=ticket.id)
    return [
        customer.faq_reply(services, entry, language),
        Reply(also, language=language, private=True),
    ]


def _rating_and_open_ticket(
    session: Session, contact: Contact
) -> tuple[Ticket | None, Ticket | None]:
    """The ticket awaiting the contact's rating and their open ticket, in one query: this runs
    for every customer message."""
    tickets = session.scalars(
        select(Ticket)
        .where(
            Ticket.contact_id == contact.id,
            TICKET_ACTIVITY,
        )
        .order_by(Ticket.id.desc())
    ).all()
    rating = next((t for t in tickets if t.awaiting_satisfaction), None)
    open_ = next((t for t in tickets if t.state in ("open", "claimed")), None)
    return rating, open_


def rate(services: Services, session: Session, contact: Contact, value: str) -> list[Reply]:
    """Store the customer's 1-5 rating of a resolved ticket (``value`` is ``"<ticket>:<score>"``,
    from a button or the number the customer typed)."""
    raw_id, _, raw_score = value.partition(":")
    ticket_id = bounded_int(raw_id)
    ticket = session.get(Ticket, ticket_id) if ticket_id is not None else None
    language = contact.language or services.support.default_language
    if ticket is None or ticket.contact_id != contact.id or not re.fullmatch(r"[1-5]", raw_score):
        return [Reply(services.texts.get("input.bad_button", language), language=language)]
    ticket.satisfaction = int(raw_score)
    ticket.awaiting_satisfaction = False
    services.notify_staff(
        session,
        "ticket.rated",
        {
            "text": services.texts.get(
                "staff.ticket.satisfaction",
                services.support.staff_language,
                ticket=ticket.id,
                score=ticket.satisfaction,
            ),
            "thread_key": f"ticket:{ticket.id}",
        },
    )
    return [
        Reply(
            services.texts.get("handoff.satisfaction_thanks", ticket.language),
            language=ticket.language,
        )
    ]


def sla_sweep(services: Services, session: Session) -> int:
    """Re-announce, with a mention, tickets left unclaimed past their SLA; returns how many."""
    now = services.clock()
    count = 0
    for ticket in session.scalars(
        select(Ticket).where(Ticket.state == "open", Ticket.sla_notified_at.is_(None))
    ):
        name = escalation.PRIORITY_NAMES[ticket.priority]
        limit = timedelta(minutes=services.support.sla_minutes.get(name, 120))
        if now - ticket.created_at < limit:
            continue
        ticket.sla_notified_at = now
        minutes = int((now - ticket.created_at).total_seconds() // 60)
        services.notify_staff(
            session,
            "ticket.sla",
            {
                "text": services.texts.get(
                    "staff.ticket.sla",
                    services.support.staff_language,
                    ticket=ticket.id,
                    minutes=minutes,
                ),
                "thread_key": f"ticket:{ticket.id}",
                "mention": True,
            },
            dedupe_key=f"ticket-sla:{ticket.id}",
        )
        count += 1
    return count

"""FAQ answers during a handoff: answered by the bot while a ticket waits, offered to staff
once someone has claimed it.

A customer waiting for a person may still ask what the FAQ answers ("how long does shipping
take?"); they get the answer at once and staff read in the ticket's thread that the bot gave
it. After a claim the person speaks for the shop, so the bot does not answer over their head:
the answer is posted in the thread, in the staff language, with a button that sends it to the
customer in theirs. Nothing the customer asked is dropped either way.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from handlers import customer
from handlers.input_bounds import bounded_int
from handlers.messages import IncomingMessage, Reply
from handlers.services import Services
from store.models import Contact, Ticket, TicketMessage

SEND_ACTION = "answer"  # the staff button "answer:<ticket>:<entry>"


def _title(services: Services, entry_id: str, language: str) -> str:
    """The entry's title in ``language``, else in the default language, else its id."""
    for lang in (language, services.support.default_language):
        entry = services.kb.faq.get(lang, {}).get(entry_id)
        if entry is not None:
            return entry.title
    return entry_id


def note_bot_answer(services: Services, session: Session, ticket: Ticket, entry_id: str) -> None:
    """Keep in the transcript, and tell the ticket's thread, that the bot answered ``entry_id``."""
    staff_language = services.support.staff_language
    text = services.texts.get(
        "staff.ticket.bot_answered",
        staff_language,
        title=_title(services, entry_id, staff_language),
    )
    session.add(
        TicketMessage(
            ticket_id=ticket.id,
            author="bot",
            text=text,
            language=staff_language,
            created_at=services.clock(),
        )
    )
    services.notify_staff(
        session, "ticket.message", {"text": text, "thread_key": f"ticket:{ticket.id}"}
    )


def suggest(services: Services, session: Session, ticket: Ticket, entry_id: str) -> None:
    """Offer staff the FAQ's answer to what the customer just asked, with a Send button."""
    texts, staff_language = services.texts, services.support.staff_language
    answer = customer.faq_reply(services, entry_id, staff_language).text
    services.notify_staff(
        session,
        "ticket.suggestion",
        {
            "text": texts.get(
                "staff.ticket.suggestion",
                staff_language,
                title=_title(services, entry_id, staff_language),
                answer=answer,
            ),
            "thread_key": f"ticket:{ticket.id}",
            "buttons": [
                [
                    [
                        texts.get("staff.button.send_answer", staff_language),
                        f"{SEND_ACTION}:{ticket.id}:{entry_id}",
                    ]
                ]
            ],
        },
    )


def send_answer(services: Services, session: Session, message: IncomingMessage) -> list[Reply]:
    """Staff pressed Send on a suggestion: the FAQ answer goes to the customer in their language."""
    staff_language = services.support.staff_language
    _, _, rest = (message.action or "").partition(":")
    raw_id, _, entry_id = rest.partition(":")
    ticket_id = bounded_int(raw_id)
    ticket = session.get(Ticket, ticket_id) if ticket_id is not None else None
    if (
        ticket is None
        or ticket.state == "resolved"
        or not customer.is_faq_entry(services, entry_id)
    ):
        query = f"#{raw_id[:20]}"
        return [Reply(services.texts.get("staff.not_found", staff_language, query=query))]
    contact = session.get(Contact, ticket.contact_id)
    assert contact is not None
    answer = customer.faq_reply(services, entry_id, ticket.language)
    agent = message.display_name or message.user_id
    session.add(
        TicketMessage(
            ticket_id=ticket.id,
            author="staff",
            author_name=agent,
            text=answer.text,
            language=answer.language,
            created_at=services.clock(),
        )
    )
    services.notify_chat(
        session,
        contact.channel,
        contact.chat_id,
        "handoff.customer",
        {"text": answer.text, "buttons": []},
    )
    return [
        Reply(
            services.texts.get("staff.ticket.answer_sent", staff_language, ticket=ticket.id),
            language=staff_language,
        )
    ]

"""Escalation: open (or join) the customer's ticket and tell staff, in the staff language.

One open ticket per contact (the database enforces it: ``store/tickets.py``): further
escalations and messages join it, also when two replicas escalate the same contact at once.
Staff get one message per ticket (the "card": summary, the customer's words translated with the
original beside them, the order, and Claim / Resolve / Back to bot buttons); later messages go
to the card's thread. Everything for staff is written to the outbox in the same transaction as
the ticket, so a crash or a chat outage loses nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from handlers import ticket_context
from handlers.services import Services
from knowledge.local_time import local_datetime
from knowledge.translation import TranslationUnavailable, language_neutral, same_language
from store import orders as order_store
from store import tickets
from store.models import Contact, Ticket, TicketMessage

PRIORITY = {
    "chargeback": 0,
    "angry": 1,
    "damaged": 1,
    "wrong_item": 1,
    "not_received": 1,
    "refund_demand": 1,
    "complaint": 1,
    "human": 2,
    "unanswered": 2,
}
PRIORITY_NAMES = {0: "urgent", 1: "high", 2: "normal"}
# reasons that are no complaint: the customer asked for a person, or the bot could not help;
# their first reply hands over without an apology
NEUTRAL_REASONS = frozenset({"human", "unanswered"})


def translate(services: Services, text: str, source: str | None, target: str) -> str | None:
    """``text`` in ``target``, or None when it cannot be translated right now (text with no
    words to translate, or already in ``target``, is itself)."""
    if not source or same_language(source, target) or language_neutral(text):
        return text
    try:
        return services.translator.translate(text, source, target)
    except TranslationUnavailable:
        return None


def open_ticket(session: Session, contact: Contact) -> Ticket | None:
    """The contact's open or claimed ticket, if any."""
    return tickets.open_ticket(session, contact.id)


def escalate(
    services: Services,
    session: Session,
    contact: Contact,
    *,
    reason: str,
    text: str | None,
    language: str,
    order_id: str | None = None,
) -> tuple[Ticket, bool]:
    """Open a ticket for ``contact`` (or add to its open one); returns (ticket, newly opened).

    A new ticket carries the conversation that led to it. ``text`` is what the customer wrote
    to escalate; None for the "Talk to a person" button and a bare ``/human``, which say
    nothing staff need to read.
    """
    now = services.clock()
    ticket = open_ticket(session, contact)
    created = False
    if ticket is None:
        priority = PRIORITY.get(reason, 2)
        ticket = tickets.open_new(session, contact.id, language=language, reason=reason,
                                  priority=priority, order_id=order_id, now=now)  # fmt: skip
        created = ticket is not None
        if ticket is None:  # opened by another transaction this very moment: join it
            ticket = open_ticket(session, contact)
        if ticket is None:
            raise RuntimeError(f"contact {contact.id}: no ticket could be opened or found")
    if not created:
        raise_priority(ticket, reason)
        ticket.order_id = ticket.order_id or order_id
    if created:
        add_conversation_before(services, session, ticket)
    message = add_customer_message(services, session, ticket, text, language) if text else None
    if created:
        services.notify_staff(
            session,
            "ticket.new",
            card_payload(services, session, ticket, contact),
            dedupe_key=f"ticket-card:{ticket.id}",
        )
    elif message is not None:
        services.notify_staff(session, "ticket.message", thread_payload(services, ticket, message))
    return ticket, created


def raise_priority(ticket: Ticket, reason: str) -> None:
    """Make ``reason`` the ticket's reason if it is more urgent than the one it has."""
    if PRIORITY.get(reason, 2) < ticket.priority:
        ticket.priority, ticket.reason = PRIORITY[reason], reason


def add_conversation_before(services: Services, session: Session, ticket: Ticket) -> None:
    """Copy the conversation that led to ``ticket`` into its transcript, translated for staff."""
    staff_language = services.support.staff_language
    for entry in ticket_context.before_handoff(session, ticket, services.clock()):
        text = ticket_context.shortened(entry.text)
        language = entry.language or ticket.language
        translated = translate(services, text, language, staff_language)
        session.add(
            TicketMessage(
                ticket_id=ticket.id,
                author="customer" if entry.direction == "in" else "bot",
                text=text,
                language=language,
                translated=translated,
                translated_language=staff_language if translated else None,
                created_at=entry.created_at,
                before_handoff=True,
            )
        )
    session.flush()


def add_customer_message(
    services: Services, session: Session, ticket: Ticket, text: str, language: str
) -> TicketMessage:
    """Add a customer line to the transcript, with its translation for staff."""
    staff_language = services.support.staff_language
    translated = translate(services, text, language, staff_language)
    message = TicketMessage(
        ticket_id=ticket.id,
        author="customer",
        text=text,
        language=language,
        translated=translated,
        translated_language=staff_language if translated else None,
        created_at=services.clock(),
    )
    session.add(message)
    session.flush()
    return message


def staff_line(services: Services, message: TicketMessage) -> str:
    """A transcript line as staff read it: translation and original, or the original and why;
    the "translation unavailable" tag only when the customer's language really differs from
    the staff's and the line has words to translate (not for /human, an order number...)."""
    texts, staff_language = services.texts, services.support.staff_language
    if same_language(message.language, staff_language) or language_neutral(message.text):
        return message.text
    if message.translated is None:
        return f"{texts.get('staff.ticket.untranslated', staff_language)}\n{message.text}"
    return texts.get(
        "staff.ticket.message",
        staff_language,
        translated=message.translated,
        language=message.language,
        original=message.text,
    )


def card_text(services: Services, session: Session, ticket: Ticket, contact: Contact) -> str:
    """The ticket card: who, why, which order, and the customer's last messages."""
    texts, lang = services.texts, services.support.staff_language
    lines = [
        texts.get(
            "staff.ticket.title",
            lang,
            ticket=ticket.id,
            priority=texts.get(f"staff.priority.{PRIORITY_NAMES[ticket.priority]}", lang),
            reason=texts.get(f"staff.reason.{ticket.reason}", lang),
        ),
        texts.get(
            "staff.ticket.customer",
            lang,
            customer=contact.display_name or contact.external_id,
            channel=contact.channel,
            language=ticket.language,
        ),
    ]
    if ticket.order_id:
        order = order_store.get_order(session, ticket.order_id)
        if order is not None:
            shipment = order.shipment
            lines.append(
                texts.get(
                    "staff.ticket.order",
                    lang,
                    order=order.id,
                    status=texts.get(f"order.status.{order.status}", lang),
                    carrier=(shipment.carrier if shipment else "") or "",
                    tracking=(shipment.tracking_number if shipment else "") or "",
                )
            )
    lines.extend(conversation_lines(services, ticket))
    customer_lines = [
        m for m in ticket.messages if m.author == "customer" and not m.before_handoff
    ][-3:]
    lines.extend(staff_line(services, message) for message in customer_lines)
    if ticket.assignee:
        key = (
            "staff.ticket.resolved_by" if ticket.state == "resolved" else "staff.ticket.claimed_by"
        )
        lines.append(texts.get(key, lang, agent=ticket.assignee))
    return "\n\n".join(lines)


def conversation_lines(services: Services, ticket: Ticket) -> list[str]:
    """The conversation before the handoff as the card shows it: a heading, then who said what,
    in the staff language; nothing when the ticket opened without one."""
    texts, lang = services.texts, services.support.staff_language
    said = [
        texts.get(f"staff.ticket.said_{m.author}", lang, text=staff_line(services, m))
        for m in ticket.messages
        if m.before_handoff
    ]
    return [texts.get("staff.ticket.before_handoff", lang), "\n".join(said)] if said else []


def card_buttons(services: Services, ticket: Ticket) -> list[list[list[str]]]:
    """Claim / Resolve / Back to bot, as far as the ticket's state allows."""
    texts, lang = services.texts, services.support.staff_language
    if ticket.state == "resolved":
        return []
    row = []
    if ticket.state == "open":
        row.append([texts.get("staff.button.claim", lang), f"claim:{ticket.id}"])
    row.append([texts.get("staff.button.resolve", lang), f"resolve:{ticket.id}"])
    row.append([texts.get("staff.button.back_to_bot", lang), f"bot:{ticket.id}"])
    return [row]


def card_payload(services: Services, session: Session, ticket: Ticket, contact: Contact) -> dict:
    """The outbox payload that posts (or, with ``edit_key``, updates) the ticket card."""
    return {
        "text": card_text(services, session, ticket, contact),
        "buttons": card_buttons(services, ticket),
        "ref_key": f"ticket:{ticket.id}",
    }


def thread_payload(services: Services, ticket: Ticket, message: TicketMessage) -> dict:
    """The outbox payload that posts one more transcript line in the ticket's thread."""
    return {"text": staff_line(services, message), "thread_key": f"ticket:{ticket.id}"}


def when_text(services: Services, ticket: Ticket, language: str, now: datetime) -> str:
    """ "within about 30 minutes" in support hours, else when the team is back."""
    support, texts = services.support, services.texts
    zone = ZoneInfo(support.timezone)
    local = now.replace(tzinfo=ZoneInfo("UTC")).astimezone(zone)
    minutes = support.sla_minutes.get(PRIORITY_NAMES[ticket.priority], 120)
    if (
        local.weekday() in support.workdays
        and support.hours_start <= local.time() < support.hours_end
    ):
        return texts.get("escalation.when_soon", language, minutes=minutes)
    day = local
    for _ in range(8):
        if day.weekday() in support.workdays and (
            day.date() > local.date() or local.time() < support.hours_start
        ):
            break
        day = (day + timedelta(days=1)).replace(hour=0, minute=0)
    opening = day.replace(hour=support.hours_start.hour, minute=support.hours_start.minute)
    return texts.get("escalation.when_back", language, back=local_datetime(opening, language))


def opened_text(services: Services, ticket: Ticket, language: str) -> str:
    """The first reply of a new ticket: an apology only when the customer complains."""
    when = when_text(services, ticket, language, services.clock())
    key = "escalation.opened_neutral" if ticket.reason in NEUTRAL_REASONS else "escalation.opened"
    return services.texts.get(key, language, ticket=ticket.id, when=when)

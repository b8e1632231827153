"""Staff commands on tickets, the same on every channel: ``/claim N``, ``/resolve N``,
``/note N text`` and ``/tickets [mine|open|all]``, answered in the staff language.

They do what the card's buttons and a thread's ``//`` notes do, for staff who work from the
keyboard or on a channel without buttons (the console): ``/claim 7`` is the Claim button of
ticket 7, with the same race between two people pressing it at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers import handoff
from handlers.escalation import PRIORITY_NAMES
from handlers.input_bounds import bounded_int
from handlers.messages import Command, IncomingMessage, MessageKind, Reply
from handlers.services import Services
from store.models import Contact, Ticket

TicketCommand = Callable[[Services, Session, IncomingMessage, Command], list[Reply]]
TICKET_SCOPES = ("open", "mine", "all")
LISTED = 50  # tickets /tickets shows at most


def _reply(services: Services, key: str, **values: object) -> list[Reply]:
    lang = services.support.staff_language
    return [Reply(services.texts.get(key, lang, **values), language=lang)]


def _ticket_number(command: Command) -> int | None:
    """The ticket number of ``/claim 7`` or ``/claim #7``; None when there is none."""
    return bounded_int(command.args[0].lstrip("#")) if command.args else None


def _pressing(kind: str, usage: str) -> TicketCommand:
    """A command that presses the card button ``kind`` of the ticket it names."""

    def command_handler(
        services: Services, session: Session, message: IncomingMessage, command: Command
    ) -> list[Reply]:
        number = _ticket_number(command)
        if number is None:
            return _reply(services, "staff.usage", usage=usage)
        pressed = replace(message, kind=MessageKind.BUTTON, action=f"{kind}:{number}")
        return handoff.staff_action(services, session, pressed)

    command_handler.__doc__ = f"``{usage}``: what the card's {kind} button does."
    return command_handler


def note_command(
    services: Services, session: Session, message: IncomingMessage, command: Command
) -> list[Reply]:
    """``/note 7 text``: an internal note on ticket 7, never sent to the customer."""
    number = _ticket_number(command)
    text = " ".join(command.args[1:]).strip()
    if number is None or not text:
        return _reply(services, "staff.usage", usage="/note 7 text")
    ticket = session.get(Ticket, number)
    if ticket is None:
        return _reply(services, "staff.not_found", query=f"#{number}")
    handoff.add_note(services, session, ticket, message.display_name or message.user_id, text)
    return _reply(services, "staff.ticket.note_kept")


def tickets_command(
    services: Services, session: Session, message: IncomingMessage, command: Command
) -> list[Reply]:
    """``/tickets [open|mine|all]``: waiting and claimed tickets (the default), those the
    sender claimed, or every ticket, newest resolved ones too; oldest first, with their age."""
    scope = command.args[0].lower() if command.args else "open"
    if scope not in TICKET_SCOPES:
        return _reply(services, "staff.usage", usage="/tickets open|mine|all")
    query = select(Ticket, Contact).join(Contact, Contact.id == Ticket.contact_id)
    if scope != "all":
        query = query.where(Ticket.state.in_(("open", "claimed")))
    if scope == "mine":
        query = query.where(Ticket.assignee == (message.display_name or message.user_id))
    rows = session.execute(query.order_by(Ticket.id.desc()).limit(LISTED)).all()
    if not rows:
        return _reply(services, "staff.tickets.none")
    texts, lang, now = services.texts, services.support.staff_language, services.clock()
    lines = [
        texts.get(
            "staff.tickets.line",
            lang,
            ticket=ticket.id,
            age=int((now - ticket.created_at).total_seconds() // 60),
            priority=texts.get(f"staff.priority.{PRIORITY_NAMES[ticket.priority]}", lang),
            reason=texts.get(f"staff.reason.{ticket.reason}", lang),
            customer=contact.display_name or contact.external_id,
            state=ticket.assignee or texts.get(f"staff.ticket.state.{ticket.state}", lang),
        )
        for ticket, contact in reversed(rows)
    ]
    return [Reply("\n".join(lines), language=lang)]


TICKET_COMMANDS: dict[str, TicketCommand] = {
    "claim": _pressing("claim", "/claim 7"),
    "resolve": _pressing("resolve", "/resolve 7"),
    "note": note_command,
    "tickets": tickets_command,
}

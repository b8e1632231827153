"""Staff commands: ``/order ID``, ``/help``; answered in the staff language (tickets' own
commands are in ``handlers/ticket_commands.py``).

``/stock`` is ``handlers/stock.py``'s and ``/alerts`` ``handlers/staff_alerts.py``'s. The
router lets only staff in (the channel decides who is staff); these functions trust that.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from handlers import orders
from handlers.input_bounds import order_number
from handlers.messages import Command, Reply
from handlers.services import Services
from store import orders as order_store

SHOWN_QUERY_CHARS = 60  # of a query that found nothing, echoed back


def _shown(query: str) -> str:
    """A query as echoed in "nothing found for ...": a 4,000-character one is cut."""
    return query if len(query) <= SHOWN_QUERY_CHARS else query[:SHOWN_QUERY_CHARS] + "…"


def order_command(services: Services, session: Session, command: Command) -> Reply:
    lang = services.support.staff_language
    texts = services.texts
    if not command.args:
        return Reply(texts.get("staff.usage", lang, usage="/order 10234"), language=lang)
    order_id = order_number(command.args[0])
    order = order_store.get_order(session, order_id) if order_id is not None else None
    if order is None:
        shown = _shown(command.args[0])
        return Reply(texts.get("staff.not_found", lang, query=shown), language=lang)
    return Reply(
        orders.staff_order_text(services, session, order, lang), language=lang, private=True
    )


def help_command(services: Services, names: Iterable[str]) -> Reply:
    """``/help`` for staff: the staff commands ``names``, one line each, in the staff language.

    Each line is the locale's ``staff.help.<command>``; a command without one is listed by its
    name alone, so a new command is never hidden (``tests/handlers/test_staff_commands.py``
    asks every locale for a line of every command).
    """
    lang = services.support.staff_language
    texts = services.texts
    lines = [texts.get("staff.help.header", lang)]
    for name in names:
        key = f"staff.help.{name}"
        line = texts.get(key, lang)
        lines.append(line if line != key else f"/{name}")
    return Reply("\n".join(lines), language=lang)

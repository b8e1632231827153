"""Staff commands: ``/order N``, ``/stock SKU``; answered in the staff language (tickets' own
commands are in ``handlers/ticket_commands.py``).

The router lets only staff in (the channel decides who is staff); these functions trust that.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from handlers import orders
from handlers.input_bounds import order_number
from handlers.messages import Command, Reply
from handlers.services import Services
from store import orders as order_store
from store.inventory import stock_position

STAFF_COMMANDS = {"order", "stock", "tickets", "alerts"}


SHOWN_QUERY_CHARS = 60  # of a query that found nothing, echoed back


def _shown(query: str) -> str:
    """A query as echoed in "nothing found for ...": a 4,000-character one is cut."""
    return query if len(query) <= SHOWN_QUERY_CHARS else query[:SHOWN_QUERY_CHARS] + "…"


def _fmt(value: float | None, none: str) -> str:
    return none if value is None else f"{value:.1f}"


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


def stock_command(services: Services, session: Session, command: Command) -> Reply:
    lang = services.support.staff_language
    texts = services.texts
    if not command.args:
        return Reply(texts.get("staff.usage", lang, usage="/stock NW-TEE-BLK"), language=lang)
    position = stock_position(session, command.args[0])
    if position is None:
        shown = _shown(command.args[0])
        return Reply(texts.get("staff.not_found", lang, query=shown), language=lang)
    none = texts.get("staff.value.none", lang)
    return Reply(
        texts.get(
            "staff.stock.line",
            lang,
            sku=position.sku,
            name=position.name,
            on_hand=position.on_hand,
            reserved=position.reserved,
            available=position.available,
            reorder_point=position.reorder_point,
            daily_sales=_fmt(position.daily_sales, none),
            cover=_fmt(position.days_of_cover, none),
            lead_time=position.lead_time_days,
        ),
        language=lang,
    )

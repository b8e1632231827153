"""``/stock``: a product's inventory position, by SKU or by name, for staff.

Staff rarely know a SKU by heart: ``/stock blender`` or ``/stock 搅拌机`` should work as well as
``/stock NW-BLND-BLK``. An exact SKU (in any case) answers at once; otherwise every product's
SKU, name and names per language are compared with the query by rapidfuzz: ``WRatio`` finds
typos, word order and a part of a longer name, and the mean with ``token_set_ratio`` ranks
them, so the words a query shares with every product ("black") do not make them all alike.
One product clearly ahead is shown in full;
when several are close ("blender" fits the blender in every colour) the best few are listed,
each with its own ``/stock SKU`` line to look closer.
"""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz, process, utils
from sqlalchemy.orm import Session

from handlers.messages import Command, Reply
from handlers.services import Services
from store.inventory import (
    ProductNames,
    StockPosition,
    product_names,
    stock_position,
    stock_positions,
)

MIN_SCORE = 60.0  # WRatio's 0-100: below this a product is not what was asked for
CLEAR_LEAD = 10.0  # the best product is shown alone when it leads the next by this much
NEAR_BEST = 15.0  # else the products this close to the best are listed (a few at most)
MATCHES_SHOWN = 5
SHOWN_QUERY_CHARS = 60  # of a query that found nothing, echoed back


@dataclass(frozen=True)
class ProductMatch:
    """A product and how closely one of its names matches the query (0-100)."""

    sku: str
    score: float


def rank_products(query: str, products: list[ProductNames]) -> list[ProductMatch]:
    """Products whose SKU or a name matches ``query``, best first (ties by SKU)."""
    choices: list[str] = []
    owners: list[str] = []
    for product in products:
        for text in (product.sku, product.name, *map(str, product.names.values())):
            if text:
                choices.append(text)
                owners.append(product.sku)
    best: dict[str, float] = {}
    wanted = utils.default_process(query)
    for choice, score, index in process.extract(
        query,
        choices,
        scorer=fuzz.WRatio,
        processor=utils.default_process,
        score_cutoff=MIN_SCORE,
        limit=None,
    ):
        words = fuzz.token_set_ratio(wanted, utils.default_process(choice))
        sku = owners[index]
        best[sku] = max((score + words) / 2, best.get(sku, 0.0))
    return [ProductMatch(sku, score) for sku, score in sorted(best.items(), key=_best_first)]


def _best_first(item: tuple[str, float]) -> tuple[float, str]:
    return -item[1], item[0]


def _name(position: StockPosition, language: str) -> str:
    return str(position.names.get(language) or position.name)


def _fmt(value: float | None, none: str) -> str:
    return none if value is None else f"{value:.1f}"


def _shown(query: str) -> str:
    """A query as echoed in "nothing found for ...": a 4,000-character one is cut."""
    return query if len(query) <= SHOWN_QUERY_CHARS else query[:SHOWN_QUERY_CHARS] + "…"


def _position_reply(services: Services, position: StockPosition) -> Reply:
    lang = services.support.staff_language
    none = services.texts.get("staff.value.none", lang)
    return Reply(
        services.texts.get(
            "staff.stock.line",
            lang,
            sku=position.sku,
            name=_name(position, lang),
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


def stock_command(services: Services, session: Session, command: Command) -> Reply:
    """``/stock SKU`` or ``/stock name words``: one product in full, or the closest few."""
    lang = services.support.staff_language
    texts = services.texts
    if not command.args:
        return Reply(texts.get("staff.usage", lang, usage="/stock NW-TEE-BLK"), language=lang)
    query = " ".join(command.args)
    position = stock_position(session, query)
    if position is not None:
        return _position_reply(services, position)
    ranked = rank_products(query, product_names(session))
    if not ranked:
        return Reply(texts.get("staff.not_found", lang, query=_shown(query)), language=lang)
    if len(ranked) == 1 or ranked[0].score - ranked[1].score >= CLEAR_LEAD:
        alone = stock_position(session, ranked[0].sku)
        assert alone is not None
        return _position_reply(services, alone)
    shown = [m for m in ranked if m.score >= ranked[0].score - NEAR_BEST][:MATCHES_SHOWN]
    positions = stock_positions(session, [match.sku for match in shown])
    lines = [texts.get("staff.stock.matches", lang, query=_shown(query))]
    lines += [
        texts.get(
            "staff.stock.match",
            lang,
            sku=position.sku,
            name=_name(position, lang),
            available=position.available,
        )
        for position in (positions[match.sku] for match in shown if match.sku in positions)
    ]
    return Reply("\n".join(lines), language=lang)

"""Products and their inventory position."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from store.models import Product


@dataclass(frozen=True)
class StockPosition:
    """What staff want to know about a SKU at a glance."""

    sku: str
    name: str
    on_hand: int
    reserved: int
    available: int
    reorder_point: int
    daily_sales: float
    lead_time_days: int
    days_of_cover: float | None  # None: nothing sells, so cover is unlimited


def stock_position(session: Session, sku: str) -> StockPosition | None:
    """The stock position of ``sku`` (case-insensitive), or None if unknown."""
    product = session.get(Product, sku) or session.get(Product, sku.upper())
    if product is None:
        return None
    available = product.on_hand - product.reserved
    cover = available / product.daily_sales if product.daily_sales > 0 else None
    return StockPosition(
        sku=product.sku,
        name=product.name,
        on_hand=product.on_hand,
        reserved=product.reserved,
        available=available,
        reorder_point=product.reorder_point,
        daily_sales=product.daily_sales,
        lead_time_days=product.lead_time_days,
        days_of_cover=cover,
    )

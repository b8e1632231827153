"""Products and their inventory position, by SKU or by any of their names."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
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
    names: dict[str, Any] = field(default_factory=dict)  # the name per language


@dataclass(frozen=True)
class ProductNames:
    """A product as a name search sees it: its SKU, its name and its names per language."""

    sku: str
    name: str
    names: dict[str, Any]


def _position(product: Product) -> StockPosition:
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
        names=dict(product.names or {}),
    )


def stock_position(session: Session, sku: str) -> StockPosition | None:
    """The stock position of ``sku`` (in any case), or None if no product has that SKU."""
    product = (
        session.get(Product, sku)
        or session.scalars(
            select(Product).where(func.upper(Product.sku) == sku.upper()).order_by(Product.sku)
        ).first()
    )
    return _position(product) if product is not None else None


def stock_positions(session: Session, skus: list[str]) -> dict[str, StockPosition]:
    """The stock positions of ``skus`` that exist, by SKU."""
    products = session.scalars(select(Product).where(Product.sku.in_(skus)))
    return {product.sku: _position(product) for product in products}


def product_names(session: Session) -> list[ProductNames]:
    """Every product's SKU and names, for a search by name (three small columns per row)."""
    rows = session.execute(select(Product.sku, Product.name, Product.names).order_by(Product.sku))
    return [ProductNames(sku, name, dict(names or {})) for sku, name, names in rows]

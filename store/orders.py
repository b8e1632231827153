"""Orders as customers and staff look them up, and the proof of ownership customers give.

An order id is the shop's own: digits ("10234"), letters and hyphens ("SZ-20001"), marketplace
formats ("302-1234567-1234567"), slashes ("2026/1234"). :data:`ORDER_ID_RULES` says what one
may hold; the import refuses other ids, and everyone who reads an id out of a message
(``handlers/input_bounds.py``, ``knowledge/intents.py``) looks for exactly these. Ids are
stored as the shop writes them (without a leading ``#``, which is optional everywhere) and
found in any case: :func:`get_order` compares :func:`order_key` with ``upper(id)`` (the index
``ix_orders_id_key``), preferring the exact spelling if two ids differ only in case.
"""

from __future__ import annotations

import hmac
import re
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, selectinload

from store.models import Contact, Order, VerificationFailure, VerifiedOrder
from store.upsert import insert_ignoring

MAX_FAILURES = 5  # wrong proofs per contact, and per order, within FAILURE_WINDOW
FAILURE_WINDOW = timedelta(minutes=30)
GLOBAL_FAILURES_PER_MINUTE = 30  # wrong proofs in all before every verification pauses
GLOBAL_PAUSE = timedelta(minutes=5)
ORDER_ID_MAX_CHARS: int = Order.__table__.c.id.type.length  # type: ignore[attr-defined]
# letters, digits, "-", "/", "_"; a letter or digit at both ends
ORDER_ID_PATTERN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9/_-]*[A-Za-z0-9])?")
ORDER_ID_RULES = (
    "an order id has letters A-Z, digits 0-9, '-', '/' and '_', starts and ends with a letter "
    f"or digit, holds at least one digit and is at most {ORDER_ID_MAX_CHARS} characters long "
    "(a leading '#' is dropped), e.g. 10234, SZ-20001, 302-1234567-1234567, A1B2C3, 2026/1234"
)


def valid_order_id(value: str) -> str | None:
    """``value`` as an order id (trimmed, without a leading ``#``) if it keeps the rules."""
    candidate = value.strip()
    candidate = candidate[1:] if candidate.startswith("#") else candidate
    if (
        len(candidate) > ORDER_ID_MAX_CHARS
        or not ORDER_ID_PATTERN.fullmatch(candidate)
        or not any(ch.isdigit() for ch in candidate)
    ):
        return None
    return candidate


def order_key(order_id: str) -> str:
    """What look-ups compare: the id without ``#``, upper-cased (``upper(id)`` in SQL)."""
    return order_id.strip().lstrip("#").upper()


def _key_matches(order_id: str) -> ColumnElement[bool]:
    return func.upper(Order.id) == order_key(order_id)


def get_order(session: Session, order_id: str) -> Order | None:
    """The order ``order_id`` names (any case, ``#`` optional) with items and shipment, or None."""
    found = session.scalars(
        select(Order)
        .where(_key_matches(order_id))
        .options(selectinload(Order.items), selectinload(Order.shipment))
    ).all()
    wanted = order_id.strip().lstrip("#")
    exact = [order for order in found if order.id == wanted]
    ranked = exact or sorted(found, key=lambda order: order.id)
    return ranked[0] if ranked else None


def is_verified(session: Session, contact: Contact, order_id: str) -> bool:
    """Whether ``contact`` has proven it owns the order ``order_id`` names."""
    order = get_order(session, order_id)
    return order is not None and session.get(VerifiedOrder, (contact.id, order.id)) is not None


def _normalise_postcode(value: str) -> str:
    return re.sub(r"[\s-]", "", value).upper()


def proof_matches(order: Order, proof: str) -> bool:
    """Whether ``proof`` is the order's e-mail (any case) or postcode (spaces ignored)."""
    proof = proof.strip()
    if "@" in proof:
        return hmac.compare_digest(proof.lower(), order.email.strip().lower())
    candidate = _normalise_postcode(proof)
    return bool(candidate) and hmac.compare_digest(candidate, _normalise_postcode(order.postcode))


def locked_until(
    session: Session, contact: Contact, order_id: str, now: datetime
) -> datetime | None:
    """When ``contact`` may try to prove ``order_id`` again, if guessing is locked now.

    Three limits, none of which a success resets: wrong proofs by this contact (one platform
    user), wrong proofs for this order by anyone (many accounts guessing one victim's order),
    and wrong proofs in all (a distributed attack on many orders: everyone waits). An order
    that does not exist is counted like one that does, so the answer never tells them apart.
    """
    since = now - FAILURE_WINDOW
    ends = []
    for where in (
        VerificationFailure.contact_id == contact.id,
        VerificationFailure.order_key == order_key(order_id)[:ORDER_ID_MAX_CHARS],
    ):
        count, first = session.execute(
            select(func.count(), func.min(VerificationFailure.at)).where(
                where, VerificationFailure.at > since
            )
        ).one()
        if count >= MAX_FAILURES and first is not None:
            ends.append(first + FAILURE_WINDOW)
    if recent_failures(session, now) >= GLOBAL_FAILURES_PER_MINUTE:
        ends.append(now + GLOBAL_PAUSE)
    return max(ends) if ends else None


def recent_failures(session: Session, now: datetime) -> int:
    """Wrong proofs by anyone in the last minute."""
    return (
        session.scalar(
            select(func.count())
            .select_from(VerificationFailure)
            .where(VerificationFailure.at > now - timedelta(minutes=1))
        )
        or 0
    )


def verify_order(
    session: Session, contact: Contact, order_id: str, proof: str, now: datetime
) -> bool:
    """Check ``proof`` for ``order_id``; link the order to the contact on success.

    An unknown order and a wrong proof fail alike, so nobody learns which order numbers exist.
    """
    order = get_order(session, order_id)
    if order is not None and proof_matches(order, proof):
        # keyed by (contact, order): a proof given twice at once leaves one row, no error
        session.execute(
            insert_ignoring(session, VerifiedOrder, ["contact_id", "order_id"]).values(
                contact_id=contact.id, order_id=order.id, verified_at=now
            )
        )
        if contact.customer_id is None:
            contact.customer_id = order.customer_id
        return True
    record_failure(session, contact, order_id, now)
    return False


def record_failure(session: Session, contact: Contact, order_id: str, now: datetime) -> None:
    """Count a wrong proof by ``contact`` for ``order_id`` (existing or not)."""
    key = order_key(order_id)[:ORDER_ID_MAX_CHARS]
    session.add(VerificationFailure(contact_id=contact.id, at=now, order_key=key))

"""Orders as customers and staff look them up, and the proof of ownership customers give.

An order id is the shop's own: digits ("10234"), letters and hyphens ("SZ-20001"), marketplace
formats ("302-1234567-1234567"), slashes ("2026/1234"). :data:`ORDER_ID_RULES` says what one
may hold; the import refuses other ids, and everyone who reads an id out of a message
(``handlers/input_bounds.py``, ``knowledge/intents.py``) looks for exactly these. Ids are
stored as the shop writes them (without a leading ``#``, which is optional everywhere) and
found in any case: :func:`get_order` compares :func:`order_key` with ``upper(id)`` (the index
``ix_orders_id_key``), preferring the exact spelling if two ids differ only in case.

Whether an order exists must not show, in the answer or in the time it takes: deciding whether
a customer may see an order (:func:`is_verified`, :func:`verify_order`) runs the same
statements and comparisons for an unknown order as for a real one; only after that decision
is the whole order loaded (:func:`get_order`).
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, selectinload

from store.models import Contact, Order, VerificationFailure, VerifiedOrder
from store.upsert import insert_ignoring

MAX_FAILURES = 5  # wrong proofs per contact, and per order, within FAILURE_WINDOW
FAILURE_WINDOW = timedelta(minutes=30)
GLOBAL_FAILURES_PER_MINUTE = 30  # wrong proofs in all before every verification pauses
GLOBAL_PAUSE = timedelta(minutes=5)
# what a proof for an order that does not exist is compared with: as long as a real e-mail
# address and postcode, and never a match (the order is missing whatever the comparison says)
_NO_ORDER = ("no-such-order@example.invalid", "00000")
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


def _preferred(ids: Iterable[str], order_id: str) -> str | None:
    """Of the ids that match ``order_id`` in any case, the one it names, or None if none do.

    The exact spelling if it is among them, else the first in code-point order (decided here,
    not by SQL ``ORDER BY``, whose order of "AB-1" and "Ab-1" depends on the collation). Every
    look-up goes through this one rule, so "verified" always means verified for the order
    :func:`get_order` would show.
    """
    found = set(ids)
    wanted = order_id.strip().lstrip("#")
    if wanted in found:
        return wanted
    return min(found) if found else None


def get_order(session: Session, order_id: str) -> Order | None:
    """The order ``order_id`` names (any case, ``#`` optional) with items and shipment, or None.

    This loads everything about the order, so it costs more for an order that exists: call it
    only where the caller may see the order (staff, or a customer who proved it is theirs),
    never to decide whether to show it (see :func:`is_verified` and :func:`verify_order`).
    """
    found = {
        order.id: order
        for order in session.scalars(
            select(Order)
            .where(_key_matches(order_id))
            .options(selectinload(Order.items), selectinload(Order.shipment))
        )
    }
    chosen = _preferred(found, order_id)
    return found[chosen] if chosen is not None else None


def is_verified(session: Session, contact: Contact, order_id: str) -> bool:
    """Whether ``contact`` has proven it owns the order ``order_id`` names.

    One statement whether the order exists or not, whether it is linked or not: the ids that
    match ``order_id``, each with whether ``contact`` proved it. Loading the order first (as
    this once did) ran more statements for a real order than for an unknown one, and the time
    that took told a guesser which order numbers exist.
    """
    rows = session.execute(
        select(Order.id, VerifiedOrder.order_id.is_not(None))
        .outerjoin(
            VerifiedOrder,
            (VerifiedOrder.order_id == Order.id) & (VerifiedOrder.contact_id == contact.id),
        )
        .where(_key_matches(order_id))
    ).all()
    linked = {found: bool(proven) for found, proven in rows}
    chosen = _preferred(linked, order_id)
    return chosen is not None and linked[chosen]


def _normalise_postcode(value: str) -> str:
    return re.sub(r"[\s-]", "", value).upper()


def proof_matches(email: str, postcode: str, proof: str) -> bool:
    """Whether ``proof`` is ``email`` (any case) or ``postcode`` (spaces and hyphens ignored).

    Both comparisons run whatever ``proof`` looks like, each with :func:`hmac.compare_digest`
    on UTF-8 bytes (it refuses a ``str`` outside ASCII, such as "jörg@exämple.com"), so the
    time taken tells neither how much of a guess was right nor which kind of proof it was.
    """
    proof = proof.strip()
    by_email = hmac.compare_digest(proof.lower().encode(), email.strip().lower().encode())
    candidate = _normalise_postcode(proof)
    by_postcode = hmac.compare_digest(candidate.encode(), _normalise_postcode(postcode).encode())
    return by_email if "@" in proof else (bool(candidate) and by_postcode)


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

    An unknown order and a wrong proof fail alike, and take the same work: one lean query
    (only what the proof is checked against) in every case, and for an order that does not
    exist the same comparisons against stand-in values that no order is asked about. The
    caller loads the whole order only after a success, when showing it is the right answer.
    """
    rows = session.execute(
        select(Order.id, Order.email, Order.postcode, Order.customer_id).where(
            _key_matches(order_id)
        )
    ).all()
    by_id = {row.id: row for row in rows}
    chosen = _preferred(by_id, order_id)
    row = by_id[chosen] if chosen is not None else None
    email, postcode = (row.email, row.postcode) if row is not None else _NO_ORDER
    matched = proof_matches(email, postcode, proof)  # compared even when there is no order
    if row is not None and matched:
        # keyed by (contact, order): a proof given twice at once leaves one row, no error
        session.execute(
            insert_ignoring(session, VerifiedOrder, ["contact_id", "order_id"]).values(
                contact_id=contact.id, order_id=row.id, verified_at=now
            )
        )
        if contact.customer_id is None:
            contact.customer_id = row.customer_id
        return True
    record_failure(session, contact, order_id, now)
    return False


def record_failure(session: Session, contact: Contact, order_id: str, now: datetime) -> None:
    """Count a wrong proof by ``contact`` for ``order_id`` (existing or not)."""
    key = order_key(order_id)[:ORDER_ID_MAX_CHARS]
    session.add(VerificationFailure(contact_id=contact.id, at=now, order_key=key))

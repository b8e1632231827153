"""Orders as customers and staff look them up, and the proof of ownership customers give."""

from __future__ import annotations

import hmac
import re
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, selectinload

from store.models import Contact, Order, VerificationFailure, VerifiedOrder
from store.upsert import insert_ignoring

MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=30)


def get_order(session: Session, order_id: str) -> Order | None:
    """The order with its items and shipment, or None."""
    return session.scalar(
        select(Order)
        .where(Order.id == order_id)
        .options(selectinload(Order.items), selectinload(Order.shipment))
    )


def is_verified(session: Session, contact: Contact, order_id: str) -> bool:
    """Whether ``contact`` has proven it owns ``order_id``."""
    return session.get(VerifiedOrder, (contact.id, order_id)) is not None


def _normalise_postcode(value: str) -> str:
    return re.sub(r"[\s-]", "", value).upper()


def proof_matches(order: Order, proof: str) -> bool:
    """Whether ``proof`` is the order's e-mail (any case) or postcode (spaces ignored)."""
    proof = proof.strip()
    if "@" in proof:
        return hmac.compare_digest(proof.lower(), order.email.strip().lower())
    candidate = _normalise_postcode(proof)
    return bool(candidate) and hmac.compare_digest(candidate, _normalise_postcode(order.postcode))


def locked_until(session: Session, contact: Contact, now: datetime) -> datetime | None:
    """When ``contact`` may guess again, if it guessed wrong too often lately."""
    since = now - FAILURE_WINDOW
    count, first = session.execute(
        select(func.count(), func.min(VerificationFailure.at)).where(
            VerificationFailure.contact_id == contact.id, VerificationFailure.at > since
        )
    ).one()
    if count >= MAX_FAILURES and first is not None:
        return first + FAILURE_WINDOW
    return None


def verify_order(
    session: Session, contact: Contact, order_id: str, proof: str, now: datetime
) -> bool:
    """Check ``proof`` for ``order_id``; link the order to the contact on success.

    An unknown order and a wrong proof fail alike, so nobody learns which order numbers exist.
    """
    order = session.get(Order, order_id)
    if order is not None and proof_matches(order, proof):
        # keyed by (contact, order): a proof given twice at once leaves one row, no error
        session.execute(
            insert_ignoring(session, VerifiedOrder, ["contact_id", "order_id"]).values(
                contact_id=contact.id, order_id=order_id, verified_at=now
            )
        )
        session.execute(
            delete(VerificationFailure).where(VerificationFailure.contact_id == contact.id)
        )
        if contact.customer_id is None:
            contact.customer_id = order.customer_id
        return True
    session.add(VerificationFailure(contact_id=contact.id, at=now))
    return False

"""Order lookups: for customers after they prove the order is theirs, for staff in full.

A customer sees an order's status, carrier, tracking number and expected delivery only for an
order linked to their chat, which happens when they send the order number and then the e-mail
address or postcode on the order. "No such order" and "not yours" read the same, and wrong
guesses are rate-limited per contact.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy.orm import Session

from handlers.messages import Button, Reply
from handlers.services import Services
from knowledge.local_time import local_date
from store import orders as order_store
from store.models import Contact, Order, Product

# An address starts where a word does (the lookbehind), and its parts are as long as RFC 5321
# lets them be: without both, a 40,000-character word made the search try every start and
# every length (quadratic: seconds per message, on the router's thread, for everyone).
_EMAIL = re.compile(r"(?<![^\s@<>])[^\s@<>]{1,64}@[^\s@<>]{1,253}\.[^\s@<>]{1,63}")
_POSTCODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 \-]{1,9}$")


def looks_like_proof(text: str) -> str | None:
    """The e-mail address or postcode in ``text``, if it is one (linear in ``text``)."""
    match = _EMAIL.search(text) if "@" in text else None
    if match:
        return match.group(0).strip(".,;")
    stripped = text.strip()
    if _POSTCODE.match(stripped) and any(ch.isdigit() for ch in stripped):
        return stripped
    return None


def customer_order_reply(
    services: Services, session: Session, contact: Contact, order_id: str | None, language: str
) -> Reply:
    """Ask for the number, ask for proof, or show the order, as the contact's rights allow."""
    texts = services.texts
    now = services.clock()
    if not order_id:
        return Reply(texts.get("order.ask_number", language), language=language)
    if order_store.is_verified(session, contact, order_id):
        order = order_store.get_order(session, order_id)
        if order is not None:
            contact.pending_order_id = None
            return Reply(
                order_status_text(services, order, language), language=language, private=True
            )
    locked = order_store.locked_until(session, contact, order_id, now)
    if locked:
        minutes = max(1, int((locked - now).total_seconds() // 60) + 1)
        return Reply(
            texts.get("order.too_many_attempts", language, minutes=minutes),
            buttons=((Button(texts.get("button.human", language), "human"),),),
            language=language,
        )
    contact.pending_order_id = order_id
    return Reply(texts.get("order.ask_verification", language, order=order_id), language=language)


def verify_and_reply(
    services: Services, session: Session, contact: Contact, proof: str, language: str
) -> Reply:
    """Check ``proof`` for the order the contact asked about, and show it if it matches."""
    texts = services.texts
    now = services.clock()
    order_id = contact.pending_order_id or ""
    locked = order_store.locked_until(session, contact, order_id, now)
    if locked:
        # a proof sent while locked counts as wrong: guessing on keeps the lock and is
        # what the global ceiling (and the staff alert) measures
        order_store.record_failure(session, contact, order_id, now)
        _alert_staff_of_a_guessing_storm(services, session, now)
        minutes = max(1, int((locked - now).total_seconds() // 60) + 1)
        return Reply(
            texts.get("order.too_many_attempts", language, minutes=minutes), language=language
        )
    if order_store.verify_order(session, contact, order_id, proof, now):
        contact.pending_order_id = None
        order = order_store.get_order(session, order_id)
        assert order is not None
        return Reply(order_status_text(services, order, language), language=language, private=True)
    _alert_staff_of_a_guessing_storm(services, session, now)
    return Reply(texts.get("order.not_verified", language, order=order_id), language=language)


def _alert_staff_of_a_guessing_storm(services: Services, session: Session, now: datetime) -> None:
    """Tell staff once per ten minutes when wrong proofs in all reach the global ceiling:
    someone is guessing at orders from many accounts, and verification has paused."""
    failures = order_store.recent_failures(session, now)
    if failures < order_store.GLOBAL_FAILURES_PER_MINUTE:
        return
    language = services.support.staff_language
    pause = int(order_store.GLOBAL_PAUSE.total_seconds() // 60)
    text = services.texts.get(
        "staff.verification_storm", language, failures=failures, minutes=pause
    )
    bucket = now.replace(minute=now.minute - now.minute % 10, second=0, microsecond=0)
    services.notify_staff(
        session,
        "verification.storm",
        {"text": text, "mention": True},
        dedupe_key=f"verification-storm:{bucket:%Y%m%d%H%M}",
    )


def _date(value: datetime | object | None) -> str:
    if value is None:
        return ""
    return value.strftime("%Y-%m-%d") if hasattr(value, "strftime") else str(value)


def order_status_text(services: Services, order: Order, language: str) -> str:
    """What a verified customer reads about their order."""
    texts = services.texts
    status = texts.get(f"order.status.{order.status}", language)
    lines = [texts.get("order.summary", language, order=order.id, status=status)]
    shipment = order.shipment
    if shipment and shipment.tracking_number:
        lines.append(
            texts.get(
                "order.carrier",
                language,
                carrier=shipment.carrier or "",
                tracking=shipment.tracking_number,
            )
        )
    elif order.status not in {"cancelled", "delivered"}:
        lines.append(texts.get("order.no_tracking", language))
    if shipment and shipment.delivered_at:
        delivered = local_date(shipment.delivered_at, language)  # in the customer's form
        lines.append(texts.get("order.delivered_on", language, date=delivered))
    elif shipment and shipment.promised_delivery and order.status != "cancelled":
        promised = local_date(shipment.promised_delivery, language)
        lines.append(texts.get("order.eta", language, date=promised))
    return "\n".join(lines)


def staff_order_text(services: Services, session: Session, order: Order, language: str) -> str:
    """Everything staff need about an order, in the staff language."""
    texts = services.texts
    none = texts.get("staff.value.none", language)
    lines = [
        texts.get(
            "staff.order.header",
            language,
            order=order.id,
            status=texts.get(f"order.status.{order.status}", language),
            placed=_date(order.placed_at),
            total=order.total,
            currency=order.currency,
        ),
        texts.get(
            "staff.order.customer",
            language,
            name=order.customer_name,
            email=order.email,
            postcode=order.postcode,
            country=order.country,
            language=order.language or none,
        ),
    ]
    for item in order.items:
        product = session.get(Product, item.sku)
        name = ((product.names or {}).get(language) or product.name) if product else ""
        lines.append(
            texts.get("staff.order.item", language, quantity=item.quantity, sku=item.sku, name=name)
        )
    shipment = order.shipment
    if shipment:
        lines.append(
            texts.get(
                "staff.order.shipment",
                language,
                shipment_status=texts.get(f"shipment.status.{shipment.status}", language),
                carrier=shipment.carrier or none,
                tracking=shipment.tracking_number or none,
                shipped=_date(shipment.shipped_at) or none,
                promised=_date(shipment.promised_delivery) or none,
                last_scan=_date(shipment.last_scan_at) or none,
                delivered=_date(shipment.delivered_at) or none,
            )
        )
    return "\n".join(lines)

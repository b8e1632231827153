"""The tables of CrossDesk.

One declarative model per table. Columns that alert rules and lookups filter on carry indexes,
because rules run as SQL over millions of orders. Times are naive UTC.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# predicates of the partial indexes the alert rules read (migration 0002)
OPEN_ORDERS = "status IN ('paid', 'processing')"
UNDELIVERED = "delivered_at IS NULL"
OPEN_SHIPMENT_COLUMNS = ("delivered_at", "shipped_at", "order_id", "carrier", "tracking_number")
# a ticket someone still works on; a contact has at most one (migration 0004)
OPEN_TICKET = "state IN ('open', 'claimed')"


class Base(DeclarativeBase):
    """Declarative base of every CrossDesk table."""

    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


# --- customers and the chats they write from -------------------------------------------------


class Customer(Base):
    """A shop customer, known by e-mail from the orders they placed."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    language: Mapped[str | None] = mapped_column(String(8))


class Contact(Base):
    """One chat identity (a Telegram user, a Slack user, a console session) of a customer."""

    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(100))
    chat_id: Mapped[str] = mapped_column(String(100))
    display_name: Mapped[str | None] = mapped_column(String(200))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    language: Mapped[str | None] = mapped_column(String(8))
    language_explicit: Mapped[bool] = mapped_column(Boolean, default=False)
    pending_order_id: Mapped[str | None] = mapped_column(String(40))
    unanswered_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime)


class VerifiedOrder(Base):
    """An order a contact has proven to own (order number plus e-mail or postcode)."""

    __tablename__ = "verified_orders"

    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    verified_at: Mapped[datetime] = mapped_column(DateTime)


class VerificationFailure(Base):
    """A wrong guess at an order's e-mail or postcode; counted to rate-limit guessing."""

    __tablename__ = "verification_failures"
    __table_args__ = (
        Index("ix_verification_failures_contact_at", "contact_id", "at"),
        Index("ix_verification_failures_order_at", "order_key", "at"),
        Index("ix_verification_failures_at", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"))
    at: Mapped[datetime] = mapped_column(DateTime)
    # the order guessed at (its look-up key), whether it exists or not: counted per order too
    order_key: Mapped[str | None] = mapped_column(String(40))


# --- orders, shipments, products --------------------------------------------------------------


class Order(Base):
    """A placed order. ``id`` is the shop's order number as customers know it ("10234")."""

    __tablename__ = "orders"
    __table_args__ = (
        # the unshipped-orders alert reads only this (partial, covering) index
        Index(
            "ix_orders_open_paid",
            "status",
            "paid_at",
            "id",
            "country",
            sqlite_where=text(OPEN_ORDERS),
            postgresql_where=text(OPEN_ORDERS),
        ),
        Index("ix_orders_email", "email"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    placed_at: Mapped[datetime] = mapped_column(DateTime)
    paid_at: Mapped[datetime | None] = mapped_column(DateTime)
    email: Mapped[str] = mapped_column(String(320))
    customer_name: Mapped[str] = mapped_column(String(200), default="")
    country: Mapped[str] = mapped_column(String(2))
    postcode: Mapped[str] = mapped_column(String(20), default="")
    language: Mapped[str | None] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(20))
    total: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    currency: Mapped[str] = mapped_column(String(3))

    items: Mapped[list[OrderItem]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderItem.id"
    )
    shipment: Mapped[Shipment | None] = relationship(
        back_populates="order", cascade="all, delete-orphan", uselist=False
    )


# Customers and staff type an order id in any case ("sz-20001" for "SZ-20001"): lookups compare
# upper(id), which this expression index answers (migration 0006; see store/orders.py).
Index("ix_orders_id_key", func.upper(Order.id))


class OrderItem(Base):
    """One line of an order."""

    __tablename__ = "order_items"
    __table_args__ = (Index("ix_order_items_sku_order", "sku", "order_id", "quantity"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    sku: Mapped[str] = mapped_column(String(60))
    quantity: Mapped[int] = mapped_column(Integer)

    order: Mapped[Order] = relationship(back_populates="items")


class Shipment(Base):
    """The parcel of an order and what its carrier last said about it."""

    __tablename__ = "shipments"
    # parcels still travelling, covering what the shipment alerts read (partial: small)
    __table_args__ = (
        Index(
            "ix_shipments_open_promised",
            "status",
            "promised_delivery",
            *OPEN_SHIPMENT_COLUMNS,
            sqlite_where=text(UNDELIVERED),
            postgresql_where=text(UNDELIVERED),
        ),
        Index(
            "ix_shipments_open_scan",
            "status",
            "last_scan_at",
            *OPEN_SHIPMENT_COLUMNS,
            sqlite_where=text(UNDELIVERED),
            postgresql_where=text(UNDELIVERED),
        ),
    )

    order_id: Mapped[str] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True
    )
    carrier: Mapped[str | None] = mapped_column(String(40))
    tracking_number: Mapped[str | None] = mapped_column(String(80))
    shipped_at: Mapped[datetime | None] = mapped_column(DateTime)
    promised_delivery: Mapped[date | None] = mapped_column(Date)
    last_scan_at: Mapped[datetime | None] = mapped_column(DateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime)
    # pending | in_transit | delivered | exception | lost | returned | customs_hold
    status: Mapped[str] = mapped_column(String(20), default="pending")

    order: Mapped[Order] = relationship(back_populates="shipment")


class Product(Base):
    """A stock-keeping unit and its inventory position."""

    __tablename__ = "products"

    sku: Mapped[str] = mapped_column(String(60), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    names: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    warehouse: Mapped[str] = mapped_column(String(40), default="main")
    on_hand: Mapped[int] = mapped_column(Integer, default=0)
    reserved: Mapped[int] = mapped_column(Integer, default=0)
    reorder_point: Mapped[int] = mapped_column(Integer, default=0)
    lead_time_days: Mapped[int] = mapped_column(Integer, default=14)
    daily_sales: Mapped[float] = mapped_column(Float, default=0.0)


# --- tickets and handoff ----------------------------------------------------------------------


class Ticket(Base):
    """A customer's case handed to people. One open ticket per contact: the partial unique
    index ``uq_tickets_one_open`` (migration 0004) holds every replica to it."""

    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_contact_state", "contact_id", "state"),
        Index(
            "uq_tickets_one_open",
            "contact_id",
            unique=True,
            sqlite_where=text(OPEN_TICKET),
            postgresql_where=text(OPEN_TICKET),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"))
    language: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(String(30))
    priority: Mapped[int] = mapped_column(Integer, default=2)  # 0 urgent, 1 high, 2 normal
    state: Mapped[str] = mapped_column(String(12), default="open")  # open|claimed|resolved
    order_id: Mapped[str | None] = mapped_column(String(40))
    assignee: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)
    sla_notified_at: Mapped[datetime | None] = mapped_column(DateTime)
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    awaiting_satisfaction: Mapped[bool] = mapped_column(Boolean, default=False)

    messages: Mapped[list[TicketMessage]] = relationship(
        back_populates="ticket", cascade="all, delete-orphan", order_by="TicketMessage.id"
    )


class TicketMessage(Base):
    """One line of a ticket's transcript, original and translation side by side."""

    __tablename__ = "ticket_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(10))  # customer | staff | note | bot
    author_name: Mapped[str | None] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(8))
    translated: Mapped[str | None] = mapped_column(Text)
    translated_language: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    # a line of the conversation with the bot that led to the ticket (migration 0006)
    before_handoff: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    ticket: Mapped[Ticket] = relationship(back_populates="messages")


# --- alerts -----------------------------------------------------------------------------------


class AlertState(Base):
    """The lifecycle of one alert, identified by its fingerprint (rule + order or sku)."""

    __tablename__ = "alert_states"
    __table_args__ = (Index("ix_alert_states_rule_state", "rule", "state"),)

    fingerprint: Mapped[str] = mapped_column(String(120), primary_key=True)
    rule: Mapped[str] = mapped_column(String(60))
    subject: Mapped[str] = mapped_column(String(60))
    severity: Mapped[str] = mapped_column(String(12))
    state: Mapped[str] = mapped_column(String(12))  # firing | notified | resolved
    facts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    started_at: Mapped[datetime] = mapped_column(DateTime)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime)
    last_notified_at: Mapped[datetime | None] = mapped_column(DateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)
    acked_by: Mapped[str | None] = mapped_column(String(200))
    acked_severity: Mapped[str | None] = mapped_column(String(12))
    # The alert's lifecycle step: it goes up by one at every step (fired, changed, told again,
    # resolved) and starts from the clock in microseconds when the row is created, so it also
    # grows past the steps of a row that was pruned. (fingerprint, step) names each telling
    # of the alert, and the outbox key of a message is derived from those of its alerts.
    step: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class Silence(Base):
    """Mutes alerts matching a rule name or a fingerprint until ``ends_at``."""

    __tablename__ = "silences"

    id: Mapped[int] = mapped_column(primary_key=True)
    matcher: Mapped[str] = mapped_column(String(120))
    starts_at: Mapped[datetime] = mapped_column(DateTime)
    ends_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    created_by: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text, default="")


# --- delivery ---------------------------------------------------------------------------------


class OutboxMessage(Base):
    """A message for someone other than the sender, written in the transaction that caused it.

    ``bot/delivery.py`` sends pending rows through the target channel and marks them sent, so a
    crash or an outage neither loses nor duplicates a notification.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "sent_at", "available_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))  # telegram | slack | console
    kind: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    available_at: Mapped[datetime] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    failed_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


class InboxItem(Base):
    """An update or event as it arrived, written before the platform is told it was received.

    ``(channel, key)`` is the platform's own id of the delivery (a Telegram ``update_id``, a
    Slack ``event_id``), so a redelivery finds its row and is not handled again. Rows are
    ``pending`` until the transaction that handles them marks them ``done`` (or ``failed``
    after repeated errors); a process that dies meanwhile leaves them pending for whichever
    process looks next (``bot/inbox_worker.py``). ``user_key`` orders one person's messages:
    only their oldest pending row may be handled.
    """

    __tablename__ = "inbox"
    __table_args__ = (
        UniqueConstraint("channel", "key", name="uq_inbox_delivery"),
        Index("ix_inbox_due", "state", "available_at"),
        Index("ix_inbox_user", "user_key", "state", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(200))
    user_key: Mapped[str] = mapped_column(String(130))
    message: Mapped[dict[str, Any]] = mapped_column(JSON)  # the IncomingMessage
    route: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # how to answer it
    # pending | sending (its replies going out) | done | failed
    state: Mapped[str] = mapped_column(String(8), default="pending")
    accepted_at: Mapped[datetime] = mapped_column(DateTime)
    available_at: Mapped[datetime] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    done_at: Mapped[datetime | None] = mapped_column(DateTime)


class MessageRef(Base):
    """Where a sent message landed on a platform, so later messages can thread on or edit it."""

    __tablename__ = "message_refs"

    key: Mapped[str] = mapped_column(String(120), primary_key=True)  # e.g. "ticket:12"
    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(100))
    message_id: Mapped[str] = mapped_column(String(100))


# --- knowledge side -------------------------------------------------------------------------


class TranslationCacheEntry(Base):
    """A machine translation, kept so the same text is never sent to the provider twice."""

    __tablename__ = "translation_cache"

    provider: Mapped[str] = mapped_column(String(20), primary_key=True)
    source: Mapped[str] = mapped_column(String(8), primary_key=True)
    target: Mapped[str] = mapped_column(String(8), primary_key=True)
    text_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    translated: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class ConversationEntry(Base):
    """What a customer wrote and what the bot decided: the conversation log."""

    __tablename__ = "conversation_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    direction: Mapped[str] = mapped_column(String(3))  # in | out
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(8))
    action: Mapped[str | None] = mapped_column(String(20))
    intent: Mapped[str | None] = mapped_column(String(60))
    confidence: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class FaqFeedback(Base):
    """A customer's 👍/👎 on an FAQ answer, per entry and language."""

    __tablename__ = "faq_feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"))
    entry_id: Mapped[str] = mapped_column(String(60), index=True)
    language: Mapped[str] = mapped_column(String(8))
    helpful: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(DateTime)

"""Carts, orders and what hangs off an order: lines, processing steps, payment, shipment."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Sequence,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.db import Base, TimestampMixin, new_id
from models.encryption import EncryptedJSON


class CartStatus(enum.StrEnum):
    OPEN = "open"
    LOCKED = "locked"  # a checkout is in flight
    CONVERTED = "converted"  # its order was confirmed
    EXPIRED = "expired"


class Cart(TimestampMixin, Base):
    __tablename__ = "carts"
    __table_args__ = (
        CheckConstraint(
            "status IN ('open', 'locked', 'converted', 'expired')", name="status_known"
        ),
        # A user has at most one live cart.
        Index(
            "uq_carts_live_user",
            "user_id",
            unique=True,
            postgresql_where=text("status IN ('open', 'locked')"),
        ),
        Index("ix_carts_status_updated", "status", "updated_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # Guests: sha256 of the X-Cart-Token; the token itself is never stored.
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(
        String(16), default=CartStatus.OPEN, server_default=CartStatus.OPEN.value
    )
    expires_at: Mapped[datetime]

    items: Mapped[list[CartItem]] = relationship(
        back_populates="cart", order_by="CartItem.added_at", cascade="all, delete-orphan"
    )


class CartItem(Base):
    __tablename__ = "cart_items"
    __table_args__ = (CheckConstraint("quantity BETWEEN 1 AND 50", name="quantity_bounded"),)

    cart_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("carts.id", ondelete="CASCADE"), primary_key=True
    )
    book_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("books.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    quantity: Mapped[int]
    added_at: Mapped[datetime] = mapped_column(server_default=func.now())

    cart: Mapped[Cart] = relationship(back_populates="items")


class OrderStatus(enum.StrEnum):
    PENDING = "pending"
    AWAITING_PAYMENT = "awaiting_payment"
    CONFIRMED = "confirmed"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    REJECTED = "rejected"
    PAYMENT_FAILED = "payment_failed"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


ORDER_STATUSES = tuple(status.value for status in OrderStatus)

# Human-readable order numbers (BK-000123) come from this sequence: unique, increasing, with
# only the gaps a sequence gives (a rolled-back checkout spends its number).
ORDER_NUMBER_SEQUENCE = Sequence("order_number_seq", metadata=Base.metadata)
ORDER_NUMBER_PREFIX = "BK-"
ORDER_NUMBER_DIGITS = 6


def order_number(number: int) -> str:
    return f"{ORDER_NUMBER_PREFIX}{number:0{ORDER_NUMBER_DIGITS}d}"


class Order(TimestampMixin, Base):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'awaiting_payment', 'confirmed', 'shipped', 'delivered', "
            "'rejected', 'payment_failed', 'cancelled', 'refunded')",
            name="status_known",
        ),
        CheckConstraint("total_cents >= 0", name="total_not_negative"),
        UniqueConstraint("user_id", "idempotency_key", name="uq_orders_user_idempotency_key"),
        # A guest's order has no user but the e-mail it was placed with.
        CheckConstraint("user_id IS NOT NULL OR email IS NOT NULL", name="owner_known"),
        Index(
            "uq_orders_guest_idempotency_key",
            "guest_token_hash",
            "idempotency_key",
            unique=True,
            postgresql_where=text("user_id IS NULL"),
        ),
        Index(
            "ix_orders_guest_email", text("lower(email)"), postgresql_where=text("user_id IS NULL")
        ),
        Index("ix_orders_user_created", "user_id", text("created_at DESC"), "id"),
        # The expiry job scans only orders still waiting.
        Index(
            "ix_orders_waiting_deadline",
            "payment_deadline",
            postgresql_where=text("status IN ('pending', 'awaiting_payment')"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    number: Mapped[int] = mapped_column(
        BigInteger,
        ORDER_NUMBER_SEQUENCE,
        server_default=ORDER_NUMBER_SEQUENCE.next_value(),
        unique=True,
    )
    # NULL for a guest's order until an account with its e-mail is verified.
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    # The guest's contact address (NULL on an account's order: the account's e-mail is used).
    email: Mapped[str | None] = mapped_column(String(320))
    # sha256 of the X-Cart-Token a guest checked out with: it reads the order with that token.
    guest_token_hash: Mapped[str | None] = mapped_column(String(64))
    cart_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("carts.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(
        String(24), default=OrderStatus.PENDING, server_default=OrderStatus.PENDING.value
    )
    # Why the order left the happy path (e.g. "insufficient_stock", "payment_timeout").
    status_reason: Mapped[str | None] = mapped_column(String(64))
    currency: Mapped[str] = mapped_column(String(3))
    subtotal_cents: Mapped[int]
    discount_cents: Mapped[int] = mapped_column(default=0, server_default="0")
    shipping_cents: Mapped[int] = mapped_column(default=0, server_default="0")
    tax_cents: Mapped[int] = mapped_column(default=0, server_default="0")
    total_cents: Mapped[int]
    # The address the order ships to, as given at checkout; encrypted at rest.
    shipping_address: Mapped[dict] = mapped_column(EncryptedJSON("orders.shipping_address"))
    shipping_method: Mapped[str] = mapped_column(String(32))
    promo_code: Mapped[str | None] = mapped_column(String(64))
    promotion_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("promotions.id", ondelete="SET NULL")
    )
    payment_method: Mapped[str] = mapped_column(String(255))
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    # sha256 of the canonical checkout body: a reused key with another body is refused.
    request_fingerprint: Mapped[str | None] = mapped_column(String(64))
    cancel_idempotency_key: Mapped[str | None] = mapped_column(String(255))
    payment_deadline: Mapped[datetime]

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", order_by="OrderLine.position", cascade="all, delete-orphan"
    )
    steps: Mapped[list[OrderStep]] = relationship(
        back_populates="order", order_by="OrderStep.position", cascade="all, delete-orphan"
    )
    payment: Mapped[Payment | None] = relationship(back_populates="order", uselist=False)
    shipment: Mapped[Shipment | None] = relationship(back_populates="order", uselist=False)


class OrderLine(Base):
    __tablename__ = "order_lines"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    order_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True
    )
    book_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("books.id", ondelete="RESTRICT"), primary_key=True, index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    # Snapshots taken at checkout: later price or title changes do not alter the order.
    title: Mapped[str] = mapped_column(Text)
    unit_price_cents: Mapped[int]
    quantity: Mapped[int]
    line_total_cents: Mapped[int]

    order: Mapped[Order] = relationship(back_populates="lines")


class StepStatus(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"


class OrderStep(Base):
    """One processing step of an order's chain: the order's ``timeline``."""

    __tablename__ = "order_steps"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'running', 'succeeded', 'failed', 'skipped')",
            name="status_known",
        ),
    )

    order_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True
    )
    step: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(
        String(16), default=StepStatus.PENDING, server_default=StepStatus.PENDING.value
    )
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)

    order: Mapped[Order] = relationship(back_populates="steps")


class Payment(TimestampMixin, Base):
    """The payment of one order (one row per order: the provider call is idempotent on it)."""

    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'requires_action', 'authorized', 'captured', "
            "'partially_refunded', 'refunded', 'voided', 'failed')",
            name="status_known",
        ),
        CheckConstraint("refunded_cents BETWEEN 0 AND amount_cents", name="refund_bounded"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    order_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), unique=True
    )
    provider: Mapped[str] = mapped_column(String(16))
    provider_ref: Mapped[str | None] = mapped_column(String(255), index=True)
    status: Mapped[str] = mapped_column(String(24))
    amount_cents: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    client_secret: Mapped[str | None] = mapped_column(String(255))
    # Stripe's error code (card_declined, expired_card, ...) and decline code of a refusal.
    error: Mapped[str | None] = mapped_column(String(64))
    decline_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(String(500))
    # The authorisation attempt (a retry with another card is the next one): idempotency keys.
    attempt: Mapped[int] = mapped_column(default=1, server_default="1")
    refunded_cents: Mapped[int] = mapped_column(default=0, server_default="0")
    # What the shopper sees of the card, and nothing else of it.
    card_brand: Mapped[str | None] = mapped_column(String(32))
    card_last4: Mapped[str | None] = mapped_column(String(4))
    # Stripe.js's next step when the card needs the shopper (3-D Secure).
    next_action: Mapped[dict | None] = mapped_column(JSONB)
    # Radar's outcome.risk_level of the charge (normal, elevated, highest, ...).
    risk_level: Mapped[str | None] = mapped_column(String(16))

    order: Mapped[Order] = relationship(back_populates="payment")


class Shipment(TimestampMixin, Base):
    __tablename__ = "shipments"
    __table_args__ = (
        CheckConstraint(
            "status IN ('requested', 'label_created', 'shipped', 'in_transit', "
            "'out_for_delivery', 'delivered', 'exception')",
            name="status_known",
        ),
        # The stale-shipment poll scans shipments still on their way.
        Index(
            "ix_shipments_open_last_event",
            "last_event_at",
            postgresql_where=text("status <> 'delivered'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    order_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), unique=True
    )
    carrier: Mapped[str | None] = mapped_column(String(64))
    tracking_number: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default="requested")
    events: Mapped[list] = mapped_column(JSONB, default=list, server_default="[]")
    label_url: Mapped[str | None] = mapped_column(String(512))
    # The carrier timestamp of the event that set ``status`` (older events do not move it).
    status_at: Mapped[datetime | None]
    # When we last heard anything about it (webhook, poll): the stale poll's clock.
    last_event_at: Mapped[datetime | None]
    estimated_delivery: Mapped[datetime | None]

    order: Mapped[Order] = relationship(back_populates="shipment")

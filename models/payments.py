"""What the payment provider told us: webhook events applied once, and refunds."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.db import Base, new_id


class ProcessedPaymentEvent(Base):
    """A provider event already applied: its row commits with the event's effect, so a
    redelivered event is acknowledged and ignored."""

    __tablename__ = "processed_payment_events"

    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(64))
    order_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("orders.id", ondelete="SET NULL"), index=True
    )
    # applied | ignored (unknown type, or nothing to move forward)
    outcome: Mapped[str] = mapped_column(String(16))
    processed_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Refund(Base):
    """Money given back on an order (staff, a cancellation, or seen at the provider)."""

    __tablename__ = "refunds"
    __table_args__ = (
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint("status IN ('pending', 'succeeded', 'failed')", name="status_known"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    order_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), index=True
    )
    amount_cents: Mapped[int]
    reason: Mapped[str] = mapped_column(String(255))
    restock: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    provider_ref: Mapped[str | None] = mapped_column(String(255))
    requested_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    finished_at: Mapped[datetime | None]


class PaymentReconciliationReport(Base):
    """One run of the nightly payment reconciliation: our payments against the provider's
    PaymentIntents of a window, and what disagreed."""

    __tablename__ = "payment_reconciliation_reports"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    started_at: Mapped[datetime] = mapped_column(server_default=func.now(), index=True)
    finished_at: Mapped[datetime | None]
    window_from: Mapped[datetime]
    window_to: Mapped[datetime]
    provider: Mapped[str] = mapped_column(String(16))
    intents_checked: Mapped[int] = mapped_column(default=0, server_default="0")
    payments_checked: Mapped[int] = mapped_column(default=0, server_default="0")
    mismatches: Mapped[int] = mapped_column(default=0, server_default="0")
    settled: Mapped[int] = mapped_column(default=0, server_default="0")
    # [{kind, order_id, provider_ref, ours, theirs, settled}]
    findings: Mapped[list] = mapped_column(JSONB, default=list, server_default="[]")

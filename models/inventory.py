"""Stock tables: warehouses, stock per book and warehouse, the movement ledger, the stock
held for orders, and the nightly reconciliation reports."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Identity,
    Index,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import JSON

from models.db import Base, TimestampMixin, new_id


class ReservationStatus(enum.StrEnum):
    HELD = "held"
    COMMITTED = "committed"
    RELEASED = "released"
    RETURNED = "returned"


class Warehouse(TimestampMixin, Base):
    __tablename__ = "warehouses"
    __table_args__ = (
        # At most one default warehouse.
        Index(
            "uq_warehouses_default", "is_default", unique=True, postgresql_where=text("is_default")
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    is_default: Mapped[bool] = mapped_column(default=False, server_default="false")


class Stock(Base):
    __tablename__ = "stock"
    __table_args__ = (
        CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        CheckConstraint("reserved <= on_hand", name="reserved_within_on_hand"),
        CheckConstraint("low_stock_threshold >= 0", name="threshold_not_negative"),
    )

    book_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("books.id", ondelete="CASCADE"), primary_key=True
    )
    warehouse_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("warehouses.id", ondelete="RESTRICT"), primary_key=True
    )
    on_hand: Mapped[int] = mapped_column(default=0, server_default="0")
    reserved: Mapped[int] = mapped_column(default=0, server_default="0")
    low_stock_threshold: Mapped[int] = mapped_column(default=5, server_default="5")
    # Set when a low-stock alert went out; cleared when stock rises above the threshold.
    low_stock_alerted_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    warehouse: Mapped[Warehouse] = relationship(lazy="joined")

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class StockMovement(Base):
    """Append-only ledger: every change of on-hand or reserved stock writes one row."""

    __tablename__ = "stock_movements"
    __table_args__ = (Index("ix_stock_movements_book_created", "book_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    book_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("books.id", ondelete="CASCADE"))
    warehouse_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("warehouses.id"))
    delta_on_hand: Mapped[int] = mapped_column(default=0, server_default="0")
    delta_reserved: Mapped[int] = mapped_column(default=0, server_default="0")
    # import, adjustment, set, reserve, release, sale, return, reconcile
    reason: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str | None] = mapped_column(String(64), index=True)
    note: Mapped[str | None] = mapped_column(Text)
    actor_id: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class StockReservation(TimestampMixin, Base):
    """Stock held for one order line in one warehouse.

    held -> committed (sold) -> returned (order cancelled before shipping), or
    held -> released (payment failed, order cancelled or expired)."""

    __tablename__ = "stock_reservations"
    __table_args__ = (
        UniqueConstraint("order_id", "book_id", "warehouse_id", name="uq_stock_reservations_line"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint(
            "status IN ('held', 'committed', 'released', 'returned')", name="status_known"
        ),
        # The expiry job scans only the held reservations.
        Index(
            "ix_stock_reservations_held_expiry",
            "expires_at",
            postgresql_where=text("status = 'held'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    # No foreign key: the orders table belongs to the checkout area and lands separately.
    order_id: Mapped[uuid.UUID]
    book_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("books.id", ondelete="CASCADE"), index=True
    )
    warehouse_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("warehouses.id"))
    quantity: Mapped[int]
    status: Mapped[str] = mapped_column(
        String(16), default=ReservationStatus.HELD, server_default=ReservationStatus.HELD.value
    )
    expires_at: Mapped[datetime | None]


class ReconciliationReport(Base):
    """One run of the nightly stock reconciliation: what was checked and what was repaired."""

    __tablename__ = "reconciliation_reports"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    started_at: Mapped[datetime] = mapped_column(server_default=func.now(), index=True)
    finished_at: Mapped[datetime | None]
    rows_checked: Mapped[int] = mapped_column(default=0, server_default="0")
    drift_found: Mapped[int] = mapped_column(default=0, server_default="0")
    # [{book_id, warehouse_id, field, expected, found, delta}]
    repairs: Mapped[list] = mapped_column(JSON, default=list)

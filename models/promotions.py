"""Promotion codes and their redemptions (counted when an order is placed)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from models.db import Base, TimestampMixin, new_id


class Promotion(TimestampMixin, Base):
    __tablename__ = "promotions"
    __table_args__ = (
        CheckConstraint("kind IN ('percent', 'fixed')", name="kind_known"),
        CheckConstraint("value > 0", name="value_positive"),
        CheckConstraint("kind <> 'percent' OR value <= 100", name="percent_at_most_100"),
        CheckConstraint(
            "max_redemptions IS NULL OR redemptions <= max_redemptions", name="within_limit"
        ),
        CheckConstraint("redemptions >= 0", name="redemptions_not_negative"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    # Stored upper case, so the unique constraint ignores case.
    code: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(String(255), default="", server_default="")
    kind: Mapped[str] = mapped_column(String(16))
    # percent: 1..100; fixed: minor units of the store currency.
    value: Mapped[int]
    min_subtotal_cents: Mapped[int] = mapped_column(default=0, server_default="0")
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    max_redemptions: Mapped[int | None]
    per_user_limit: Mapped[int | None]
    redemptions: Mapped[int] = mapped_column(default=0, server_default="0")
    active: Mapped[bool] = mapped_column(default=True, server_default="true")


class PromotionRedemption(Base):
    __tablename__ = "promotion_redemptions"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'returned')", name="status_known"),
        Index("ix_promotion_redemptions_promotion_user", "promotion_id", "user_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    promotion_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("promotions.id", ondelete="CASCADE"))
    order_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), unique=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

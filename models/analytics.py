"""Domain events (the events table, also the outbox of the ``events`` exchange) and the sales
roll-up analytics reads."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, Identity, Index, SmallInteger, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.db import Base


class DomainEvent(Base):
    __tablename__ = "domain_events"
    __table_args__ = (
        Index("ix_domain_events_unpublished", "id", postgresql_where=text("published_at IS NULL")),
        Index("ix_domain_events_unrolled", "id", postgresql_where=text("rolled_up_at IS NULL")),
        Index("ix_domain_events_type_occurred", "type", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    type: Mapped[str] = mapped_column(String(48))
    schema_version: Mapped[int] = mapped_column(SmallInteger)
    aggregate_id: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime]
    payload: Mapped[dict] = mapped_column(JSONB)
    published_at: Mapped[datetime | None]
    rolled_up_at: Mapped[datetime | None]


class SalesDaily(Base):
    """Sales per UTC day and hour (a day is the sum of its hours)."""

    __tablename__ = "sales_daily"

    day: Mapped[date] = mapped_column(primary_key=True)
    hour: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    orders: Mapped[int]
    units: Mapped[int]
    revenue_cents: Mapped[int] = mapped_column(BigInteger)
    refunds: Mapped[int]
    refunds_cents: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime]


class SalesDailyBook(Base):
    """Units and revenue per book, UTC day and hour (top books and genres)."""

    __tablename__ = "sales_daily_books"

    day: Mapped[date] = mapped_column(primary_key=True)
    hour: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    book_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(Text)
    units: Mapped[int]
    revenue_cents: Mapped[int] = mapped_column(BigInteger)

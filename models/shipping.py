"""Carrier tracking events: every event a carrier sent (webhook or poll), recorded once."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Identity, Index, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from models.db import Base


class ShipmentEvent(Base):
    __tablename__ = "shipment_events"
    __table_args__ = (
        # A carrier's event id is recorded once, however often it is delivered.
        UniqueConstraint("carrier", "event_id", name="uq_shipment_events_carrier_event"),
        Index("ix_shipment_events_shipment_occurred", "shipment_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    shipment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("shipments.id", ondelete="CASCADE"))
    carrier: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(32))
    # The carrier's own timestamp: events are applied in this order.
    occurred_at: Mapped[datetime]
    location: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(500))
    source: Mapped[str] = mapped_column(String(16))  # webhook | poll
    received_at: Mapped[datetime] = mapped_column(server_default=func.now())
    # Set once the event was considered for the shipment's status (moved it or was too late).
    applied_at: Mapped[datetime | None]
    moved_status: Mapped[bool | None]

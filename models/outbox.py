"""Work recorded in the same transaction as the change that needs it, sent after commit."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Identity, Index, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.db import Base


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        # The relay scans only what is not sent yet.
        Index("ix_outbox_unsent", "created_at", postgresql_where=text("sent_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # e.g. "order_placed"
    payload: Mapped[dict] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    sent_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    # Message headers the work is sent with (the request id that caused it), so a relayed
    # message still carries its correlation id.
    headers: Mapped[dict | None] = mapped_column(JSONB)


class ReindexRequest(Base):
    """Books whose search document must be refreshed (the search area consumes these)."""

    __tablename__ = "search_reindex_requests"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    book_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("books.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    processed_at: Mapped[datetime | None] = mapped_column(index=True)

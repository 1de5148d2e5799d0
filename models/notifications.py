"""Outgoing email: one record per message (the delivery log) and each user's preferences."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.db import Base, TimestampMixin, new_id


class NotificationStatus(enum.StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"
    # Not sent because the user turned this kind of mail off.
    SKIPPED = "skipped"


class Notification(TimestampMixin, Base):
    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'sent', 'failed', 'skipped')", name="status_known"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    to_email: Mapped[str] = mapped_column(String(320))
    template: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Template variables; cleared once sent (they may hold one-time links).
    context: Mapped[dict | None] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(
        String(16), default=NotificationStatus.QUEUED, server_default="queued"
    )
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    # Callers that must send a message at most once (e.g. per order event) name it here.
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    provider_message_id: Mapped[str | None] = mapped_column(String(256))
    sent_at: Mapped[datetime | None]


class NotificationPreference(Base):
    """What non-essential mail a user wants. Account mail (verification, reset) always goes."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    order_updates: Mapped[bool] = mapped_column(default=True, server_default="true")
    marketing: Mapped[bool] = mapped_column(default=False, server_default="false")
    # Per category and channel: {"order_updates": {"email": true, "in_app": true, ...}, ...};
    # null: the defaults. order_updates/marketing above mirror the email channel.
    channels: Mapped[dict | None] = mapped_column(JSONB)
    # {"start": "22:00", "end": "07:00", "tz": "Europe/Paris"}: SMS and push wait until the end
    # (e-mail and in-app never do); null: none.
    quiet_hours: Mapped[dict | None] = mapped_column(JSONB)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

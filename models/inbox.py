"""Notifications on every channel: events to tell users about, the per-channel delivery log,
the in-app inbox, and back-in-stock requests."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.db import Base, new_id
from models.encryption import EncryptedText


class NotificationEvent(Base):
    """Something to tell a user (welcome, order_shipped, ...), once per dedupe key."""

    __tablename__ = "notification_events"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    event: Mapped[str] = mapped_column(String(48))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    context: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    dispatched_at: Mapped[datetime | None]


class NotificationDelivery(Base):
    """One row per event and channel: the channel's delivery log."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        CheckConstraint(
            "status IN ('queued', 'held', 'sent', 'failed', 'skipped')", name="status_known"
        ),
        # The quiet-hours release sweep reads held deliveries by the end of their window.
        Index(
            "ix_notification_deliveries_held",
            "hold_until",
            postgresql_where=text("status = 'held'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    event_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("notification_events.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    # "<event dedupe key>:<channel>": a retried dispatch never adds a second delivery.
    dedupe_key: Mapped[str] = mapped_column(String(220), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="queued", server_default="queued")
    reason: Mapped[str | None] = mapped_column(String(64))  # why skipped
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    sent_at: Mapped[datetime | None]
    # SMS and push in the user's quiet hours: held (status "held") until this time.
    hold_until: Mapped[datetime | None]


class PushSubscription(Base):
    """A browser's Web Push subscription (``PushSubscription.toJSON()``): where to send and
    the keys that encrypt for it. The endpoint host is one of the allowed push services."""

    __tablename__ = "push_subscriptions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    endpoint: Mapped[str] = mapped_column(String(1024), unique=True)
    p256dh: Mapped[str] = mapped_column(String(128))
    auth: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    last_sent_at: Mapped[datetime | None]


class InAppNotification(Base):
    """The in-app channel: what ``GET /me/notifications`` lists."""

    __tablename__ = "in_app_notifications"
    __table_args__ = (
        Index(
            "ix_in_app_notifications_unread",
            "user_id",
            postgresql_where=text("read_at IS NULL"),
        ),
        Index("ix_in_app_notifications_user_created", "user_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    delivery_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("notification_deliveries.id", ondelete="CASCADE"), unique=True
    )
    event: Mapped[str] = mapped_column(String(48))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    read_at: Mapped[datetime | None]


class BackInStockRequest(Base):
    """A shopper asked to be told when an out-of-stock book is back (told once)."""

    __tablename__ = "back_in_stock_requests"
    __table_args__ = (
        Index(
            "uq_back_in_stock_open",
            "user_id",
            "book_id",
            unique=True,
            postgresql_where=text("notified_at IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    book_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("books.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    notified_at: Mapped[datetime | None]


class UserPhone(Base):
    """A user's phone for SMS (E.164), usable once verified by a code sent to it."""

    __tablename__ = "user_phones"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    # Encrypted at rest (models/encryption.py).
    phone_e164: Mapped[str] = mapped_column(EncryptedText("user_phones.phone_e164"))
    verified_at: Mapped[datetime | None]
    code_hash: Mapped[str | None] = mapped_column(String(64))
    code_expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

"""The shopper's address book."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.db import Base, TimestampMixin, new_id


class Address(TimestampMixin, Base):
    __tablename__ = "addresses"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    line1: Mapped[str] = mapped_column(Text)
    line2: Mapped[str | None] = mapped_column(Text)
    city: Mapped[str] = mapped_column(String(128))
    region: Mapped[str | None] = mapped_column(String(128))
    postal_code: Mapped[str] = mapped_column(String(32))
    # ISO 3166-1 alpha-2, upper case.
    country: Mapped[str] = mapped_column(String(2))

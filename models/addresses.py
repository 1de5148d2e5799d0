"""The shopper's address book."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.db import Base, TimestampMixin, new_id
from models.encryption import EncryptedText


class Address(TimestampMixin, Base):
    __tablename__ = "addresses"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    # Encrypted at rest (models/encryption.py); their lengths are bounded by the API schema.
    name: Mapped[str] = mapped_column(EncryptedText("addresses.name"))
    line1: Mapped[str] = mapped_column(EncryptedText("addresses.line1"))
    line2: Mapped[str | None] = mapped_column(EncryptedText("addresses.line2"))
    city: Mapped[str] = mapped_column(EncryptedText("addresses.city"))
    region: Mapped[str | None] = mapped_column(EncryptedText("addresses.region"))
    postal_code: Mapped[str] = mapped_column(EncryptedText("addresses.postal_code"))
    # ISO 3166-1 alpha-2, upper case.
    country: Mapped[str] = mapped_column(String(2))

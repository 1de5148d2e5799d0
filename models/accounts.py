"""Accounts: shoppers, staff and admins."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.db import Base, TimestampMixin, new_id


class Role(enum.StrEnum):
    CUSTOMER = "customer"
    STAFF = "staff"
    ADMIN = "admin"


class User(TimestampMixin, Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('customer', 'staff', 'admin')", name="role_known"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    # Stored normalised (trimmed, lower case), so the unique constraint ignores case.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    role: Mapped[str] = mapped_column(
        String(16), default=Role.CUSTOMER, server_default=Role.CUSTOMER.value
    )
    is_active: Mapped[bool] = mapped_column(default=True, server_default="true")
    email_verified_at: Mapped[datetime | None]
    # Set once DELETE /me's erasure ran: the row stays (orders point at it), anonymised.
    erased_at: Mapped[datetime | None]

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.STAFF, Role.ADMIN)

"""Credentials beside the password: refresh tokens (in families) and one-time email-link tokens.

Only SHA-256 hashes of the tokens are stored; the raw values exist only in responses and emails.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column

from models.db import Base, new_id


class RefreshToken(Base):
    """One refresh token. A login starts a family; each rotation adds the next member."""

    __tablename__ = "refresh_tokens"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    family_id: Mapped[uuid.UUID] = mapped_column(index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime]
    # Set when the token was exchanged for the next one; presenting it again is reuse.
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class LinkPurpose:
    VERIFY_EMAIL = "verify_email"
    PASSWORD_RESET = "password_reset"


class OneTimeToken(Base):
    """A single-use, expiring token carried by an email link (verification, password reset)."""

    __tablename__ = "one_time_tokens"
    __table_args__ = (
        CheckConstraint("purpose IN ('verify_email', 'password_reset')", name="purpose_known"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

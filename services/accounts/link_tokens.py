"""Single-use, expiring tokens carried by email links (verify email, reset password)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from models import OneTimeToken, User, db
from services.errors import DomainError


class InvalidLinkToken(DomainError):
    """This link is invalid, was already used or has expired; ask for a new one."""

    error = "invalid_token"


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create(user: User, purpose: str, ttl_seconds: int) -> str:
    """Add a token for ``user`` to the session (the caller commits) and return its raw value."""
    raw = secrets.token_urlsafe(32)
    db.session.add(
        OneTimeToken(
            user_id=user.id,
            purpose=purpose,
            token_hash=token_hash(raw),
            expires_at=datetime.now(UTC) + timedelta(seconds=ttl_seconds),
        )
    )
    return raw


def consume(raw: str, purpose: str) -> User:
    """Mark the token used and return its user; raises InvalidLinkToken. The caller commits."""
    now = datetime.now(UTC)
    token = db.session.scalars(
        select(OneTimeToken)
        .where(OneTimeToken.token_hash == token_hash(raw or ""))
        .where(OneTimeToken.purpose == purpose)
        .with_for_update()
    ).one_or_none()
    if token is None or token.used_at is not None or token.expires_at <= now:
        raise InvalidLinkToken()
    token.used_at = now
    user = db.session.get(User, token.user_id)
    if user is None or not user.is_active:
        raise InvalidLinkToken()
    return user


def spend_all(user: User, purpose: str) -> None:
    """Mark every outstanding token of this purpose used (e.g. after a password reset)."""
    db.session.execute(
        update(OneTimeToken)
        .where(OneTimeToken.user_id == user.id)
        .where(OneTimeToken.purpose == purpose)
        .where(OneTimeToken.used_at.is_(None))
        .values(used_at=datetime.now(UTC))
    )

"""Rotating refresh tokens. A login starts a family; each refresh spends the presented token and
issues the next one; presenting a spent token again means it leaked, so the family is revoked."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from models import RefreshToken, User, db
from services.accounts.tokens import InvalidToken
from services.errors import Unauthorized


class TokenReused(Unauthorized):
    """This refresh token was already used; every session started with it has been revoked."""

    error = "token_reused"


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue(user: User, ttl_seconds: int, family_id: uuid.UUID | None = None) -> str:
    """Add a refresh token to the session (the caller commits) and return its raw value."""
    raw = secrets.token_urlsafe(48)
    db.session.add(
        RefreshToken(
            user_id=user.id,
            family_id=family_id or uuid.uuid4(),
            token_hash=_hash(raw),
            expires_at=datetime.now(UTC) + timedelta(seconds=ttl_seconds),
        )
    )
    return raw


def rotate(raw: str, ttl_seconds: int) -> tuple[User, str]:
    """Spend ``raw`` and return its user and the next token of the family. Commits.

    Raises InvalidToken (unknown, expired or revoked) or TokenReused (already spent: the whole
    family is revoked before raising)."""
    now = datetime.now(UTC)
    token = db.session.scalars(
        select(RefreshToken).where(RefreshToken.token_hash == _hash(raw or "")).with_for_update()
    ).one_or_none()
    if token is None:
        raise InvalidToken("The refresh token is not valid; log in again.")
    if token.used_at is not None:
        revoke_family(token.family_id)
        db.session.commit()
        raise TokenReused()
    if token.revoked_at is not None or token.expires_at <= now:
        raise InvalidToken("The refresh token has expired or was revoked; log in again.")
    user = db.session.get(User, token.user_id)
    if user is None or not user.is_active:
        raise InvalidToken("The refresh token is not valid; log in again.")
    token.used_at = now
    next_raw = issue(user, ttl_seconds, family_id=token.family_id)
    db.session.commit()
    return user, next_raw


def revoke_family(family_id: uuid.UUID) -> None:
    db.session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id)
        .where(RefreshToken.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )


def revoke(raw: str) -> None:
    """Log out: revoke the family of ``raw`` (unknown tokens are ignored). Commits."""
    family_id = db.session.scalar(
        select(RefreshToken.family_id).where(RefreshToken.token_hash == _hash(raw or ""))
    )
    if family_id is not None:
        revoke_family(family_id)
        db.session.commit()


def revoke_all_for_user(user: User) -> None:
    """Every session of the user ends (password reset). The caller commits."""
    db.session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user.id)
        .where(RefreshToken.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )

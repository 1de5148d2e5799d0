"""Access tokens: short-lived JWTs (PyJWT, HS256) naming the user and role."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import jwt

from services.errors import Unauthorized

ALGORITHM = "HS256"
ACCESS_TOKEN_TYPE = "access"


class InvalidToken(Unauthorized):
    """The access token is missing, malformed, expired or not signed by this server."""

    error = "invalid_token"


def issue_access_token(
    user_id: uuid.UUID, role: str, secret: str, ttl_seconds: int, now: datetime | None = None
) -> str:
    issued = now or datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "role": role,
        "typ": ACCESS_TOKEN_TYPE,
        "iat": issued,
        "exp": issued + timedelta(seconds=ttl_seconds),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode_access_token(token: str, secret: str) -> dict:
    """The token's claims; raises InvalidToken for anything but a valid access token.

    Only HS256 is accepted, so ``alg: none`` and algorithm-confusion tokens fail."""
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub", "typ"]}
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("The access token has expired; refresh it.") from exc
    except jwt.PyJWTError as exc:
        raise InvalidToken() from exc
    if claims.get("typ") != ACCESS_TOKEN_TYPE:
        raise InvalidToken()
    try:
        uuid.UUID(claims["sub"])
    except (ValueError, TypeError) as exc:
        raise InvalidToken() from exc
    return claims

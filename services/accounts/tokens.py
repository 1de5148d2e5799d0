"""Access tokens: short-lived JWTs (PyJWT, HS256) naming the user and role."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
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


def decode_access_token(token: str, keys: str | Sequence[str]) -> dict:
    """The token's claims; raises InvalidToken for anything but a valid access token.

    ``keys``: the signing key, or the keys accepted (newest first, during a key rotation).
    Only HS256 is accepted, so ``alg: none`` and algorithm-confusion tokens fail."""
    claims = verify_hs256(
        token,
        keys,
        InvalidToken,
        require=["exp", "sub", "typ"],
        expired_message="The access token has expired; refresh it.",
    )
    if claims.get("typ") != ACCESS_TOKEN_TYPE:
        raise InvalidToken()
    try:
        uuid.UUID(claims["sub"])
    except (ValueError, TypeError) as exc:
        raise InvalidToken() from exc
    return claims


def verify_hs256(
    token: str,
    keys: str | Sequence[str],
    error: type[Exception],
    require: list[str],
    expired_message: str = "The token has expired.",
) -> dict:
    """The claims of an HS256 JWT signed with any of ``keys``; raises ``error`` otherwise."""
    for key in [keys] if isinstance(keys, str) else keys:
        try:
            return jwt.decode(token, key, algorithms=[ALGORITHM], options={"require": require})
        except jwt.ExpiredSignatureError as exc:
            raise error(expired_message) from exc
        except jwt.InvalidSignatureError:
            continue  # maybe signed with the previous key
        except jwt.PyJWTError as exc:
            raise error() from exc
    raise error()

"""Password hashing (argon2id) and the password policy."""

from __future__ import annotations

import functools
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from services.errors import InvalidInput

COMMON_PASSWORDS_FILE = Path(__file__).parent / "data" / "common_passwords.txt"
DEFAULT_MIN_LENGTH = 10
MAX_LENGTH = 256

# argon2id with OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): a login stays cheap
# enough for a busy 2-core API host while each guess costs an attacker the same memory.
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
# Verified against when no user matches, so an unknown email costs as much time as a known one.
_DUMMY_HASH = _hasher.hash("no user has this password, it only burns time")


class WeakPassword(InvalidInput):
    """The password does not meet the password policy."""

    error = "weak_password"


@functools.cache
def common_passwords() -> frozenset[str]:
    lines = COMMON_PASSWORDS_FILE.read_text().splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def check_policy(password: str, email: str = "", min_length: int = DEFAULT_MIN_LENGTH) -> None:
    """Raise WeakPassword with a message a person can act on."""
    if len(password) < min_length:
        raise WeakPassword(f"Use a password of at least {min_length} characters.")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"Use a password of at most {MAX_LENGTH} characters.")
    lowered = password.lower()
    if lowered in common_passwords() or len(set(lowered)) < 4:
        raise WeakPassword("This password is too common; choose one that is harder to guess.")
    if email and lowered in (email.lower(), email.lower().split("@")[0]):
        raise WeakPassword("Do not use your email address as your password.")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if password_hash is None:
        _safe_verify(_DUMMY_HASH, password)
        return False
    return _safe_verify(password_hash, password)


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def _safe_verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False

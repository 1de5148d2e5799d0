"""PII encrypted at rest: AES-GCM column types whose stored values name the key that sealed them.

A stored value reads ``pii1:<key id>:<base64url(nonce + ciphertext + tag)>``. The column's name
is the associated data, so a value copied into another column does not open there. The keys
come from ``PII_KEYS`` (newest first): new values are sealed with the newest, old ones open with
whichever key they name until ``flask pii rotate`` re-seals them. The keyring is bound once when
the app, a worker or a CLI command starts (like ``services.settings``)."""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator

PREFIX = "pii1"
NONCE_BYTES = 12
KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")
KEY_BYTES = (16, 24, 32)


class PiiKeyError(RuntimeError):
    """PII keys missing or malformed, or a stored value that none of them opens."""


def _b64decode(text: str) -> bytes:
    # Strict: a character outside the URL-safe alphabet is an error, not skipped.
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)


def parse_keys(spec: str) -> list[tuple[str, bytes]]:
    """``id:base64key`` entries separated by commas or new lines, newest first. Key material
    never appears in an error message."""
    keys: list[tuple[str, bytes]] = []
    for entry in re.split(r"[,\n]", spec or ""):
        entry = entry.strip()
        if not entry:
            continue
        key_id, sep, encoded = entry.partition(":")
        if not sep or not KEY_ID.fullmatch(key_id):
            raise PiiKeyError(
                "PII_KEYS: each entry is <key id>:<base64 key>, the id 1-32 of [A-Za-z0-9_-]"
            )
        try:
            key = _b64decode(encoded.strip())
        except (binascii.Error, ValueError) as exc:
            raise PiiKeyError(f"PII_KEYS: key {key_id!r} is not base64") from exc
        if len(key) not in KEY_BYTES:
            raise PiiKeyError(f"PII_KEYS: key {key_id!r} must be 16, 24 or 32 bytes (AES)")
        if any(key_id == known for known, _ in keys):
            raise PiiKeyError(f"PII_KEYS: key id {key_id!r} appears twice")
        keys.append((key_id, key))
    if not keys:
        raise PiiKeyError("PII_KEYS holds no key")
    return keys


def new_key_entry(key_id: str) -> str:
    """A fresh ``id:key`` entry (AES-256) for PII_KEYS."""
    return f"{key_id}:{base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip('=')}"


class Keyring:
    """The PII keys, newest first; seals with the newest, opens with the one a value names."""

    def __init__(self, keys: Sequence[tuple[str, bytes]]) -> None:
        if not keys:
            raise PiiKeyError("PII_KEYS holds no key")
        self._keys = {key_id: AESGCM(key) for key_id, key in keys}
        self.newest_id = keys[0][0]

    @classmethod
    def parse(cls, spec: str) -> Keyring:
        return cls(parse_keys(spec))

    @property
    def key_ids(self) -> list[str]:
        return list(self._keys)

    def encrypt(self, plaintext: str, context: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._keys[self.newest_id].encrypt(nonce, plaintext.encode(), context.encode())
        body = base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")
        return f"{PREFIX}:{self.newest_id}:{body}"

    def decrypt(self, stored: str, context: str) -> str:
        key_id = key_id_of(stored)
        if key_id is None:
            raise PiiKeyError(f"{context}: the stored value is not an encrypted PII value")
        cipher = self._keys.get(key_id)
        if cipher is None:
            raise PiiKeyError(
                f"{context}: the value was sealed with PII key {key_id!r}, which PII_KEYS does "
                "not hold (add it back after the newest key until `flask pii rotate` ran)"
            )
        try:
            raw = _b64decode(stored.split(":", 2)[2])
            return cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode()).decode()
        except (InvalidTag, binascii.Error, ValueError) as exc:
            raise PiiKeyError(
                f"{context}: the value does not open with PII key {key_id!r} (wrong key "
                "material under that id, or the value was altered)"
            ) from exc


def key_id_of(stored: str) -> str | None:
    """The key id an encrypted value names, or None when it is not one."""
    parts = stored.split(":", 2)
    if len(parts) != 3 or parts[0] != PREFIX or not KEY_ID.fullmatch(parts[1]):
        return None
    return parts[1]


_keyring: Keyring | None = None


def bind_keyring(keyring: Keyring) -> None:
    global _keyring
    _keyring = keyring


def keyring() -> Keyring:
    if _keyring is None:
        raise PiiKeyError("no PII keyring is bound (create_app binds the one PII_KEYS names)")
    return _keyring


class EncryptedText(TypeDecorator):
    """Text stored AES-GCM encrypted; ``context`` (``table.column``) is the associated data."""

    impl = Text
    cache_ok = True

    def __init__(self, context: str) -> None:
        super().__init__()
        self.context = context

    def process_bind_param(self, value, dialect):
        return None if value is None else keyring().encrypt(self.serialise(value), self.context)

    def process_result_value(self, value, dialect):
        return None if value is None else self.deserialise(keyring().decrypt(value, self.context))

    def serialise(self, value) -> str:
        return str(value)

    def deserialise(self, text: str):
        return text


class EncryptedJSON(EncryptedText):
    """A JSON document stored AES-GCM encrypted (read back as the same dict or list)."""

    cache_ok = True

    def serialise(self, value) -> str:
        return json.dumps(value, separators=(",", ":"), sort_keys=True)

    def deserialise(self, text: str):
        return json.loads(text)

"""Opaque cursors for keyset-paged lists: a page is ``{items, next_cursor}``.

A cursor is the sort key of the last row served, tagged with the list it belongs to."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from services.errors import InvalidCursor


@dataclass(frozen=True)
class Page:
    items: list
    next_cursor: str | None


def encode_cursor(kind: str, values: list) -> str:
    raw = json.dumps([kind, *values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str, size: int) -> list:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidCursor() from exc
    if not isinstance(values, list) or len(values) != size + 1 or values[0] != kind:
        raise InvalidCursor()
    return values[1:]

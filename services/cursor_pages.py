"""Opaque cursors for keyset-paged lists: a page is ``{items, next_cursor}``.

A cursor is the sort key of the last row served, tagged with the list it belongs to."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from models import db
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


def newest_first(
    query: Select,
    created: InstrumentedAttribute,
    row_id: InstrumentedAttribute,
    kind: str,
    limit: int,
    cursor: str | None,
) -> Page:
    """One page of ``query``'s entities, newest ``created`` first, ``row_id`` breaking ties.

    The cursor is the (time, id) of the last entity served, tagged with ``kind``."""
    if cursor:
        stamp, last_id = decode_cursor(kind, cursor, 2)
        try:
            key = (datetime.fromisoformat(stamp), uuid.UUID(last_id))
        except (TypeError, ValueError) as exc:
            raise InvalidCursor() from exc
        query = query.where(tuple_(created, row_id) < key)
    query = query.order_by(created.desc(), row_id.desc()).limit(limit + 1)
    rows = list(db.session.scalars(query))
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        values = [getattr(last, created.key).isoformat(), str(getattr(last, row_id.key))]
        next_cursor = encode_cursor(kind, values)
    return Page(rows[:limit], next_cursor)

"""The one pagination of every list: keyset sort orders (the "rows after this one" condition
for any mix of directions and NULLs), signed opaque cursors, and pages ``{items, next_cursor}``.

A cursor is the sort key of the last row served, signed with the cursor key and salted
with the list it belongs to, so it only works where it was issued; a forged, altered or
foreign cursor is ``InvalidCursor`` (400 ``invalid_cursor``)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy import ColumnElement, Select, and_, false, literal, or_, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from models import db
from services import settings
from services.errors import InvalidCursor

# Longest cursor we try to verify; real ones are a few hundred characters.
MAX_CURSOR_LENGTH = 2048


def decimal_key(value) -> Decimal:
    parsed = Decimal(value)
    if not parsed.is_finite():
        raise ValueError("not a finite number")
    return parsed


def text_key(value) -> str:
    if not isinstance(value, str):
        raise TypeError("not text")
    return value


def int_key(value) -> int:
    if not isinstance(value, int):
        raise TypeError("not an integer")
    return value


def uuid_key(value) -> uuid.UUID:
    return uuid.UUID(str(value))


def datetime_key(value) -> datetime:
    return datetime.fromisoformat(value)


@dataclass(frozen=True)
class SortKey:
    """One column of a sort order. Nullable keys sort their NULLs last."""

    column: Any
    descending: bool = False
    nullable: bool = False
    parse: Callable[[Any], Any] = int_key

    @property
    def attribute(self) -> str:
        return self.column.key

    def order_by(self) -> ColumnElement:
        clause = self.column.desc() if self.descending else self.column.asc()
        return clause.nulls_last() if self.nullable else clause

    def equals(self, value) -> ColumnElement:
        return self.column.is_(None) if value is None else self.column == value

    def beyond(self, value) -> ColumnElement:
        """Rows whose value of this key comes strictly after ``value``."""
        if value is None:
            return false()  # NULLs sort last: nothing comes after them
        later = self.column < value if self.descending else self.column > value
        return or_(later, self.column.is_(None)) if self.nullable else later

    def seek_bound(self, value) -> ColumnElement:
        """A redundant, index-friendly bound implied by the "after" condition (it lets the
        database start its index scan at the cursor instead of filtering from the top).
        For a nullable key and a non-null value it leaves out the NULLs that also follow:
        ``SortOrder.seeks`` fetches those separately."""
        if value is None:
            return self.column.is_(None)
        return self.column <= value if self.descending else self.column >= value

    def to_json(self, value):
        if value is None or isinstance(value, int | str):
            return value
        if isinstance(value, datetime):
            return value.isoformat()
        return str(value)

    def from_json(self, value):
        if value is None:
            if not self.nullable:
                raise InvalidCursor()
            return None
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise InvalidCursor()
        try:
            return self.parse(value)
        except (ValueError, TypeError, InvalidOperation) as exc:
            raise InvalidCursor() from exc


@dataclass(frozen=True)
class SortOrder:
    """A named sort order: its keys, the last one unique (the id)."""

    keys: tuple[SortKey, ...]

    def order_by(self) -> list[ColumnElement]:
        return [key.order_by() for key in self.keys]

    def values_of(self, row) -> list:
        return [getattr(row, key.attribute) for key in self.keys]

    def seeks(self, values: Sequence) -> list[list[ColumnElement]]:
        """WHERE clauses for the rows that sort strictly after ``values``, as one or more
        groups whose results, concatenated in this order, are those rows. There are two
        groups when the leading key is nullable and its value is not NULL: the rest of the
        non-NULL values, then the NULLs (an OR of both would defeat the index)."""
        alternatives = []
        equal_so_far: list[ColumnElement] = []
        for key, value in zip(self.keys, values, strict=True):
            alternatives.append(and_(*equal_so_far, key.beyond(value)))
            equal_so_far.append(key.equals(value))
        leading, value = self.keys[0], values[0]
        groups = [[self._seek_bound(values), or_(*alternatives)]]
        if leading.nullable and value is not None:
            groups.append([leading.column.is_(None)])
        return groups

    def _seek_bound(self, values: Sequence) -> ColumnElement:
        """The leading keys that share one direction (and are not nullable), as one row
        comparison implied by the "after" condition: the index scan starts at the cursor,
        and only rows tied on all those keys are left for the exact condition to skip."""
        leading = self.keys[0]
        if leading.nullable or values[0] is None:
            return leading.seek_bound(values[0])
        prefix = []
        for key, value in zip(self.keys, values, strict=True):
            if key.nullable or value is None or key.descending != leading.descending:
                break
            prefix.append((key.column, literal(value, key.column.type)))
        if len(prefix) == 1:
            return leading.seek_bound(values[0])
        columns = tuple_(*(column for column, _ in prefix))
        bounds = tuple_(*(bound for _, bound in prefix))
        return columns <= bounds if leading.descending else columns >= bounds


class CursorCodec:
    """Signs sort values into an opaque cursor and verifies them back. The salt names the
    list and the sort, so a cursor only works where it was issued. The keys (newest first: the
    first signs, every one verifies) default to the cursor keys derived from the service secret
    and its predecessor (``CURSOR_KEYS``), never the raw secret."""

    def __init__(self, salt: str, keys: Sequence[str] | None = None) -> None:
        keys = list(keys if keys is not None else settings.current().cursor_keys)
        if not keys:
            raise ValueError("no cursor signing key")
        # itsdangerous signs with the last key of the list and verifies with any of them.
        self._serializer = URLSafeSerializer(list(reversed(keys)), salt=f"cursor.{salt}")

    def encode(self, order: SortOrder, values: Sequence) -> str:
        payload = [key.to_json(value) for key, value in zip(order.keys, values, strict=True)]
        return self._serializer.dumps(payload)

    def decode(self, order: SortOrder, cursor: str) -> list:
        if len(cursor) > MAX_CURSOR_LENGTH:
            raise InvalidCursor()
        try:
            payload = self._serializer.loads(cursor)
        except BadData as exc:
            raise InvalidCursor() from exc
        if not isinstance(payload, list) or len(payload) != len(order.keys):
            raise InvalidCursor()
        return [key.from_json(value) for key, value in zip(order.keys, payload, strict=True)]


@dataclass(frozen=True)
class Page:
    items: list
    next_cursor: str | None


def page_after(
    query: Select,
    order: SortOrder,
    salt: str,
    limit: int,
    cursor: str | None,
    entity: Callable[[Any], Any] | None = None,
) -> Page:
    """One page of ``query`` in ``order`` after ``cursor`` (signed for ``salt``). Without
    ``entity`` the query's first column is the page's item (an entity); with it, items are
    result rows and ``entity(row)`` is what carries the sort keys."""
    codec = CursorCodec(salt)
    if cursor:
        groups = order.seeks(codec.decode(order, cursor))
        if len(groups) != 1:
            raise ValueError("page_after needs a sort order whose leading key is not nullable")
        query = query.where(*groups[0])
    result = db.session.execute(query.order_by(*order.order_by()).limit(limit + 1))
    rows = list(result) if entity else list(result.scalars())
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = codec.encode(order, order.values_of(entity(last) if entity else last))
    return Page(rows[:limit], next_cursor)


def newest_first(
    query: Select,
    created: InstrumentedAttribute,
    row_id: InstrumentedAttribute,
    kind: str,
    limit: int,
    cursor: str | None,
) -> Page:
    """One page of ``query``'s entities, newest ``created`` first, ``row_id`` breaking ties."""
    order = SortOrder(
        (
            SortKey(created, descending=True, parse=datetime_key),
            SortKey(row_id, descending=True, parse=uuid_key),
        )
    )
    return page_after(query, order, kind, limit, cursor)

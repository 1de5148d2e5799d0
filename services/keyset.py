"""Keyset (cursor) pagination: sort orders as lists of keys, the "rows after this one"
condition for any mix of directions and NULLs, and signed opaque cursors."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy import ColumnElement, and_, false, literal, or_, tuple_

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
    endpoint and the sort, so a cursor only works where it was issued."""

    def __init__(self, secret: str, salt: str) -> None:
        self._serializer = URLSafeSerializer(secret, salt=salt)

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

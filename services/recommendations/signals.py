"""The signals a build learns from: the dataset's ratings and the shop's own (orders as
implicit positives, visible reviews as ratings), as (reader, book, rating) rows."""

from __future__ import annotations

import csv
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from models import Book, Order, OrderLine, Review, db
from services.orders.placement import CONFIRMED_OR_LATER

RATINGS_FILE = "ratings.csv"


@dataclass(frozen=True)
class Signal:
    reader: str  # "g:<dataset user>" or "u:<shop user id>"
    book_id: uuid.UUID
    rating: int


def dataset_signals(dataset_dir: str | Path | None) -> Iterator[Signal]:
    """The dataset's ratings of the books the catalog holds (matched by source_id)."""
    if not dataset_dir:
        return
    path = Path(dataset_dir) / RATINGS_FILE
    if not path.is_file():
        return
    by_source = {
        source_id: book_id
        for source_id, book_id in db.session.execute(
            select(Book.source_id, Book.id).where(Book.source_id.is_not(None))
        )
    }
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            book_id = by_source.get(int(row["book_id"]))
            if book_id is not None:
                yield Signal(f"g:{row['user_id']}", book_id, int(row["rating"]))


def shop_signals(order_rating: int) -> Iterator[Signal]:
    """Confirmed (or later) purchases as ``order_rating``, visible reviews as their rating."""
    bought = db.session.execute(
        select(Order.user_id, OrderLine.book_id)
        .join(OrderLine, OrderLine.order_id == Order.id)
        .where(Order.status.in_(CONFIRMED_OR_LATER))
        .distinct()
    )
    for user_id, book_id in bought:
        yield Signal(f"u:{user_id}", book_id, order_rating)
    reviewed = db.session.execute(
        select(Review.user_id, Review.book_id, Review.rating).where(Review.hidden_at.is_(None))
    )
    for user_id, book_id, rating in reviewed:
        yield Signal(f"u:{user_id}", book_id, rating)

"""A book's rating summary: the imported ratings plus the shop's visible reviews, as an
average, a count and a histogram {"1": n, ..., "5": n} whose values add up to the count."""

from __future__ import annotations

import uuid
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select

from models import Book, ReindexRequest, Review, db
from services import outbox

STARS = ("1", "2", "3", "4", "5")
REINDEX_BOOKS = "reindex_books"


def empty_histogram() -> dict[str, int]:
    return dict.fromkeys(STARS, 0)


def approximate_histogram(average: Decimal | float, count: int) -> dict[str, int]:
    """For books imported without a histogram: ``count`` ratings split between the two
    stars around ``average`` so that both the count and the average are kept."""
    histogram = empty_histogram()
    if count <= 0:
        return histogram
    mean = min(max(Decimal(str(average)), Decimal(1)), Decimal(5))
    low = int(mean) if mean < 5 else 4
    upper = int(((mean - low) * count).to_integral_value(ROUND_HALF_UP))
    histogram[str(low)] = count - upper
    histogram[str(low + 1)] += upper
    return histogram


def histogram_of(stored: dict | None, average: Decimal, count: int) -> dict[str, int]:
    """The histogram shown for a book (one that sums to its ratings_count)."""
    if stored is not None:
        return {star: int(stored.get(star, 0)) for star in STARS}
    return approximate_histogram(average, count)


def summarise(histogram: dict[str, int]) -> tuple[Decimal, int]:
    """(average to two places, count) of a histogram."""
    count = sum(histogram.values())
    if count == 0:
        return Decimal("0.00"), 0
    total = sum(int(star) * n for star, n in histogram.items())
    return (Decimal(total) / count).quantize(Decimal("0.01"), ROUND_HALF_UP), count


def refresh(book_id: uuid.UUID) -> list[int]:
    """Recompute the book's summary from its imported ratings and visible reviews. Idempotent.
    When it changed, the book is recorded for search reindexing (a ``reindex_books`` outbox
    message). Commits; returns the outbox ids to send."""
    book = db.session.scalars(select(Book).where(Book.id == book_id).with_for_update()).first()
    if book is None:
        db.session.rollback()
        return []
    if book.imported_ratings is not None:
        histogram = {star: int(book.imported_ratings.get(star, 0)) for star in STARS}
    elif book.rating_histogram is None:
        # Imported before histograms were kept: its current summary is all imported.
        histogram = approximate_histogram(book.average_rating, book.ratings_count)
        book.imported_ratings = dict(histogram)
    else:
        histogram = empty_histogram()
    for rating, count in db.session.execute(
        select(Review.rating, func.count())
        .where(Review.book_id == book_id, Review.hidden_at.is_(None))
        .group_by(Review.rating)
    ):
        histogram[str(rating)] += count
    average, count = summarise(histogram)
    changed = (
        book.rating_histogram != histogram
        or book.ratings_count != count
        or Decimal(book.average_rating) != average
    )
    outbox_ids = []
    if changed:
        book.rating_histogram = histogram
        book.ratings_count = count
        book.average_rating = average
        db.session.add(ReindexRequest(book_id=book_id, reason="rating"))
        message = outbox.record(REINDEX_BOOKS, {"book_ids": [str(book_id)], "reason": "rating"})
        db.session.flush()
        outbox_ids.append(message.id)
    db.session.commit()
    return outbox_ids

"""The import keeps each book's ratings histogram (ratings_1..ratings_5) for the summary."""

from __future__ import annotations

from sqlalchemy import select

from models import Book
from services.catalog.importer import ImportOptions, import_catalog
from tests.support import goodbooks


def test_the_import_keeps_the_histogram_and_counts_its_sum(session, tmp_path):
    books = {
        1: {**goodbooks.BOOKS[1], "ratings_1": "66715", "ratings_2": "127936",
            "ratings_3": "560092", "ratings_4": "1481305", "ratings_5": "2706317"},
        2: goodbooks.BOOKS[2],  # no histogram in the row
    }  # fmt: skip
    folder = goodbooks.write_dataset(tmp_path / "goodbooks", books)

    import_catalog(session, ImportOptions(dataset_dir=str(folder), batch_size=10))

    rows = {b.source_id: b for b in session.scalars(select(Book).where(Book.source_id < 3))}
    expected = {"1": 66715, "2": 127936, "3": 560092, "4": 1481305, "5": 2706317}
    assert rows[1].imported_ratings == expected == rows[1].rating_histogram
    assert rows[1].ratings_count == sum(expected.values())
    assert rows[2].imported_ratings is None and rows[2].ratings_count == 4602479

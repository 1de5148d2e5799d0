"""Catalog import: books, authors, genres, stock and its ledger, idempotent by ``source_id``.

Where the books come from (first that works):
1. the goodbooks folder (``CATALOG_DATASET_DIR`` or ``--dataset``) when it holds books.csv;
2. a books.csv downloaded by an earlier run into the download folder;
3. downloading books.csv from ``CATALOG_DOWNLOAD_URL`` (short timeout; empty disables it);
4. a deterministic generated catalog of ``CATALOG_FALLBACK_BOOKS`` books (Faker, seeded).
``generate=N`` skips all of that and adds N synthetic books for load tests.

Books whose ``source_id`` is already stored are left exactly as they are (staff may have
changed them since), so a second import writes nothing. New books are written in batches,
one transaction each, with COPY: the book, its ordered authors and genres, one stock row in
the default warehouse and one ``import`` ledger row whose delta is that stock's on-hand
(the ledger always sums to on-hand). Prices, page counts and stock come from
``catalog_synthetic.commerce_for(source_id)``.
"""

from __future__ import annotations

import csv
import json
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from itertools import islice
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session

from services.catalog import cache as catalog_cache
from services.catalog.sources import (
    Source,
    SourceBook,
    download_books_csv,
    genre_name,
    has_dataset,
    read_goodbooks,
)
from services.catalog.synthetic import commerce_for, generated_source
from services.errors import DomainError

# Serialises concurrent imports (two launchers starting at once) batch by batch.
IMPORT_LOCK_KEY = 0x0B00C_1A7
# Book and author ids derive from the source, so every machine seeds the same catalog.
ID_NAMESPACE = uuid.UUID("5f1c2a1e-7d0b-4d8e-9a57-6b8f1f2c0b11")
LEDGER_REASON = "import"
LEDGER_REFERENCE = "catalog-import"

Progress = Callable[[int, int], None]

# (summary key, label) in the order the summary prints them.
DEFECT_LABELS = (
    ("isbn_repaired", "ISBN-13 rebuilt from ISBN-10"),
    ("isbn_missing", "ISBN missing (isbn13 NULL)"),
    ("isbn_invalid", "ISBN malformed (isbn13 NULL)"),
    ("isbn_duplicate", "ISBN already used (isbn13 NULL)"),
    ("cover_placeholder", "placeholder covers skipped"),
    ("language_missing", "languages missing"),
    ("year_missing", "years missing"),
    ("year_negative", "years negative (BCE, kept)"),
)


class NoDefaultWarehouse(DomainError):
    """There is no default warehouse to hold the imported stock (run the migrations)."""

    error = "no_default_warehouse"


@dataclass
class ImportOptions:
    dataset_dir: str | None = None
    download_url: str | None = None
    download_dir: Path | None = None
    download_timeout: float = 5.0
    fallback_books: int = 2_000
    generate: int | None = None
    if_empty: bool = False
    currency: str = "USD"
    batch_size: int = 2_000


@dataclass
class ImportSummary:
    source: str = ""
    skipped_because: str | None = None
    download_error: str | None = None
    books_read: int = 0
    books_imported: int = 0
    books_unchanged: int = 0
    authors_created: int = 0
    genres_created: int = 0
    descriptions_attached: int = 0
    defects: Counter = field(default_factory=Counter)
    rows_skipped: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.books_imported or self.authors_created or self.genres_created)

    def lines(self) -> list[str]:
        if self.skipped_because:
            return [f"catalog import skipped: {self.skipped_because} ({self.seconds:.2f} s)"]
        lines = [f"catalog import from {self.source}"]
        if self.download_error:
            lines.append(f"  no download ({self.download_error}); generated instead")
        counts = [
            ("books imported", self.books_imported),
            ("books unchanged (already present)", self.books_unchanged),
            ("authors created", self.authors_created),
            ("genres created", self.genres_created),
            ("descriptions attached", self.descriptions_attached),
            *((label, self.defects[key]) for key, label in DEFECT_LABELS),
            *((f"rows skipped: {why}", n) for why, n in sorted(self.rows_skipped.items())),
        ]
        lines += [f"  {label:<36}{count:>10,}" for label, count in counts]
        lines.append(f"  {'time':<36}{self.seconds:>9.2f}s")
        if not self.changed:
            lines.append(f"nothing changed: all {self.books_read:,} books were already present")
        return lines


def import_catalog(
    session: Session, options: ImportOptions, progress: Progress | None = None
) -> ImportSummary:
    """Run the import; commits after every batch and invalidates the catalog cache once."""
    started = time.perf_counter()
    summary = ImportSummary()
    if options.if_empty and session.execute(text("SELECT EXISTS (SELECT 1 FROM books)")).scalar():
        session.rollback()
        summary.skipped_because = "the catalog already has books (--if-empty)"
        summary.seconds = time.perf_counter() - started
        return summary

    warehouse_id = session.execute(text("SELECT id FROM warehouses WHERE is_default")).scalar()
    if warehouse_id is None:
        raise NoDefaultWarehouse()
    session.rollback()  # no transaction stays open while a download or the CSV reading runs
    source = resolve_source(options, summary, is_stored=partial(_all_stored, session))
    summary.source = source.label
    summary.rows_skipped.update(source.rows_skipped)
    writer = _BatchWriter(session, warehouse_id, options.currency, summary)
    try:
        for batch in _batches(source.books, options.batch_size):
            writer.write(batch)
            session.commit()
            summary.books_read += len(batch)
            if progress:
                progress(summary.books_read + source.already_stored, source.total)
        session.rollback()  # end the read-only transaction of a last is_stored() check
        if summary.changed:
            _refresh_planner_statistics(session)
        summary.books_read += source.already_stored
        summary.books_unchanged += source.already_stored
        if progress and source.already_stored:
            progress(summary.books_read, source.total)
    except BaseException:
        session.rollback()
        raise
    finally:
        if summary.changed:
            catalog_cache.invalidate()
        summary.seconds = time.perf_counter() - started
    return summary


def _refresh_planner_statistics(session: Session) -> None:
    """A bulk load leaves the planner without statistics until autovacuum gets to it, and
    without them the catalog's list queries pick poor plans (seen: 0.5 s instead of 30 ms
    on 100,000 books). ANALYZE the tables the import wrote."""
    session.execute(
        text("ANALYZE books, authors, book_authors, genres, book_genres, stock, stock_movements")
    )
    session.commit()


def resolve_source(
    options: ImportOptions,
    summary: ImportSummary,
    is_stored: Callable[[int, int], bool] | None = None,
) -> Source:
    """The first source that works, in the order of the module docstring."""
    if options.generate is not None:
        return generated_source(options.generate, is_stored=is_stored)
    if has_dataset(options.dataset_dir):
        return read_goodbooks(options.dataset_dir)
    download_dir = options.download_dir
    if download_dir and has_dataset(download_dir):
        return read_goodbooks(download_dir)
    if download_dir and options.download_url:
        try:
            download_books_csv(options.download_url, download_dir, options.download_timeout)
            source = read_goodbooks(download_dir)
            if source.total:
                return source
            summary.download_error = f"{options.download_url}: no books in the file"
        except (OSError, ValueError, csv.Error) as exc:  # UnicodeDecodeError is a ValueError
            summary.download_error = f"{options.download_url}: {exc}"
        (download_dir / "books.csv").unlink(missing_ok=True)
    else:
        summary.download_error = "download disabled (no URL or folder)"
    return generated_source(
        options.fallback_books,
        label=f"{options.fallback_books:,} generated books (Faker, seeded; no dataset found)",
        is_stored=is_stored,
    )


def _all_stored(session: Session, first: int, last: int) -> bool:
    stored = session.execute(
        text("SELECT count(*) FROM books WHERE source_id BETWEEN :first AND :last"),
        {"first": first, "last": last},
    ).scalar()
    return stored == last - first + 1


def book_id_for(source_id: int) -> uuid.UUID:
    return uuid.uuid5(ID_NAMESPACE, f"book:{source_id}")


class _BatchWriter:
    """Writes the new books of one batch inside the caller's transaction."""

    def __init__(self, session: Session, warehouse_id, currency: str, summary: ImportSummary):
        self.session = session
        self.warehouse_id = warehouse_id
        self.currency = currency
        self.summary = summary
        self.author_ids: dict[str, uuid.UUID] = {}
        self.genre_ids: dict[str, uuid.UUID] = {}

    def write(self, batch: list[SourceBook]) -> None:
        self.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": IMPORT_LOCK_KEY})
        present = set(
            self.session.execute(
                text("SELECT source_id FROM books WHERE source_id = ANY(:ids)"),
                {"ids": [book.source_id for book in batch]},
            ).scalars()
        )
        new_books = [book for book in batch if book.source_id not in present]
        self.summary.books_unchanged += len(batch) - len(new_books)
        if not new_books:
            return
        isbns = self._usable_isbns(new_books)
        self._ensure_authors({name for book in new_books for name in book.authors})
        self._ensure_genres({slug for book in new_books for slug in book.genres})
        self._copy_books(new_books, isbns)
        for book in new_books:
            defects = set(book.defects)
            if book.isbn13 and book.source_id not in isbns:
                defects.discard("isbn_repaired")
                defects.add("isbn_duplicate")
            self.summary.defects.update(defects)
            self.summary.descriptions_attached += book.description is not None
        self.summary.books_imported += len(new_books)

    def _usable_isbns(self, books: list[SourceBook]) -> dict[int, str]:
        """source_id -> isbn13 for ISBNs that no stored book (nor an earlier row) uses."""
        wanted = [book.isbn13 for book in books if book.isbn13]
        taken = set(
            self.session.execute(
                text("SELECT isbn13 FROM books WHERE isbn13 = ANY(:isbns)"), {"isbns": wanted}
            ).scalars()
        )
        usable: dict[int, str] = {}
        for book in books:
            if book.isbn13 and book.isbn13 not in taken:
                taken.add(book.isbn13)
                usable[book.source_id] = book.isbn13
        return usable

    def _ensure_authors(self, names: set[str]) -> None:
        missing = sorted(names - self.author_ids.keys())
        if not missing:
            return
        ids = [uuid.uuid5(ID_NAMESPACE, f"author:{name}") for name in missing]
        created = self.session.execute(
            text(
                "INSERT INTO authors (id, name) "
                "SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:names AS text[])) "
                "ON CONFLICT (name) DO NOTHING RETURNING id"
            ),
            {"ids": ids, "names": missing},
        ).all()
        self.summary.authors_created += len(created)
        rows = self.session.execute(
            text("SELECT name, id FROM authors WHERE name = ANY(:names)"), {"names": missing}
        )
        self.author_ids.update({name: id_ for name, id_ in rows})

    def _ensure_genres(self, slugs: set[str]) -> None:
        missing = sorted(slugs - self.genre_ids.keys())
        if not missing:
            return
        created = self.session.execute(
            text(
                "INSERT INTO genres (id, slug, name) SELECT * FROM unnest("
                "CAST(:ids AS uuid[]), CAST(:slugs AS text[]), CAST(:names AS text[])) "
                "ON CONFLICT (slug) DO NOTHING RETURNING id"
            ),
            {
                "ids": [uuid.uuid5(ID_NAMESPACE, f"genre:{slug}") for slug in missing],
                "slugs": missing,
                "names": [genre_name(slug) for slug in missing],
            },
        ).all()
        self.summary.genres_created += len(created)
        rows = self.session.execute(
            text("SELECT slug, id FROM genres WHERE slug = ANY(:slugs)"), {"slugs": missing}
        )
        self.genre_ids.update({slug: id_ for slug, id_ in rows})

    def _copy_books(self, books: list[SourceBook], isbns: dict[int, str]) -> None:
        book_rows, author_rows, genre_rows, stock_rows, ledger_rows = [], [], [], [], []
        for book in books:
            book_id = book_id_for(book.source_id)
            commerce = commerce_for(book.source_id)
            book_rows.append(
                (book_id, book.source_id, isbns.get(book.source_id), book.title,
                 book.description, book.language, book.publication_year, commerce.page_count,
                 commerce.price_cents, self.currency, book.cover_url, book.average_rating,
                 *_rating_columns(book))
            )  # fmt: skip
            author_rows += [
                (book_id, self.author_ids[name], position)
                for position, name in enumerate(book.authors)
            ]
            genre_rows += [
                (book_id, self.genre_ids[slug], position)
                for position, slug in enumerate(book.genres)
            ]
            stock_rows.append(
                (book_id, self.warehouse_id, commerce.on_hand, commerce.low_stock_threshold)
            )
            ledger_rows.append(
                (book_id, self.warehouse_id, commerce.on_hand, LEDGER_REASON, LEDGER_REFERENCE)
            )
        self._copy(
            "books (id, source_id, isbn13, title, description, language, publication_year,"
            " page_count, price_cents, currency, cover_url, average_rating, ratings_count,"
            " imported_ratings, rating_histogram)",
            book_rows,
        )
        self._copy("book_authors (book_id, author_id, position)", author_rows)
        self._copy("book_genres (book_id, genre_id, position)", genre_rows)
        self._copy("stock (book_id, warehouse_id, on_hand, low_stock_threshold)", stock_rows)
        self._copy(
            "stock_movements (book_id, warehouse_id, delta_on_hand, reason, reference)",
            ledger_rows,
        )

    def _copy(self, target: str, rows: Iterable[tuple]) -> None:
        # COPY on the session's own connection, so it belongs to the batch's transaction.
        driver = self.session.connection().connection.driver_connection
        with driver.cursor() as cursor, cursor.copy(f"COPY {target} FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def _rating_columns(book: SourceBook) -> tuple:
    """(ratings_count, imported_ratings, rating_histogram): with a histogram, the count is its
    sum, so that the summary shown adds up (the reviews task adds the shop's reviews)."""
    if book.rating_histogram is None:
        return book.ratings_count, None, None
    histogram = json.dumps(book.rating_histogram)
    return sum(book.rating_histogram.values()), histogram, histogram


def _batches(books: Iterator[SourceBook], size: int) -> Iterator[list[SourceBook]]:
    while batch := list(islice(books, size)):
        yield batch

"""The catalog import: defect repairs and counts, idempotence, the stock ledger, determinism,
the download and generated fallbacks, --if-empty, and the real goodbooks dataset."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from models import Author, Book, BookAuthor, BookGenre, Genre, Stock, StockMovement, Warehouse
from services.catalog import cache as catalog_cache
from services.catalog.importer import ImportOptions, import_catalog
from services.catalog.sources import has_dataset, isbn13_from_isbn10, normalise_language
from services.catalog.synthetic import (
    GENERATED_SOURCE_ID_START,
    Commerce,
    commerce_for,
    generated_source,
)
from tests.conftest import truncate_all
from tests.factories import make_book
from tests.support import goodbooks


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/books.csv"


def options_for(tmp_path: Path, **overrides) -> ImportOptions:
    defaults = dict(
        dataset_dir=str(tmp_path / "no-such-dataset"),
        download_url=closed_port_url(),
        download_dir=tmp_path / "downloads",
        download_timeout=2.0,
        fallback_books=40,
        batch_size=100,
    )
    return ImportOptions(**{**defaults, **overrides})


def crafted_options(tmp_path: Path, **overrides) -> ImportOptions:
    dataset = goodbooks.write_dataset(tmp_path / "goodbooks")
    return options_for(tmp_path, dataset_dir=str(dataset), **overrides)


def book(session, source_id: int) -> Book:
    return session.execute(select(Book).where(Book.source_id == source_id)).scalar_one()


def table_counts(session) -> dict[str, int]:
    models = (Book, Author, Genre, BookAuthor, BookGenre, Stock, StockMovement)
    return {m.__tablename__: session.scalar(select(func.count()).select_from(m)) for m in models}


def catalog_snapshot(session) -> dict[int, tuple]:
    rows = session.execute(
        select(
            Book.source_id, Book.id, Book.title, Book.isbn13, Book.price_cents, Book.page_count,
            Book.updated_at, Stock.on_hand, Stock.low_stock_threshold,
        ).join(Stock, Stock.book_id == Book.id)
    )  # fmt: skip
    return {row.source_id: tuple(row) for row in rows}


def test_isbn13_is_rebuilt_from_the_zero_padded_isbn10_with_a_new_check_digit():
    assert isbn13_from_isbn10("439023483") == "9780439023481"
    assert isbn13_from_isbn10("0306406152") == "9780306406157"
    assert isbn13_from_isbn10("043965548X") == "9780439655484"
    assert isbn13_from_isbn10("") is None
    assert isbn13_from_isbn10("12-34") is None
    assert isbn13_from_isbn10("12345678901") is None


def test_import_repairs_each_defect_and_counts_it(session, tmp_path):
    # given a small dataset with every known defect
    # when it is imported
    summary = import_catalog(session, crafted_options(tmp_path))

    # then every book is in, with each defect counted exactly
    assert summary.books_imported == 5
    assert summary.books_unchanged == 0
    assert dict(summary.defects) == goodbooks.DEFECTS
    assert summary.authors_created == goodbooks.AUTHORS
    assert summary.genres_created == goodbooks.GENRE_COUNT
    assert summary.descriptions_attached == 1
    assert summary.source.startswith("goodbooks dataset at")
    assert summary.download_error is None

    hunger_games = book(session, 1)
    assert hunger_games.isbn13 == "9780439023481"
    assert hunger_games.language == "en"
    assert hunger_games.publication_year == 2008
    assert hunger_games.cover_url == goodbooks.COVER
    assert hunger_games.average_rating == Decimal("4.34")
    assert hunger_games.ratings_count == 4780653
    assert hunger_games.description == "Katniss volunteers."
    assert [g.genre.slug for g in hunger_games.genres] == ["young-adult", "fiction", "dystopian"]
    assert session.scalar(select(Genre.name).where(Genre.slug == "young-adult")) == "Young Adult"

    harry_potter = book(session, 2)
    assert harry_potter.isbn13 is None
    assert harry_potter.language is None
    assert harry_potter.publication_year is None
    assert harry_potter.cover_url is None
    assert harry_potter.description is None
    assert [a.author.name for a in harry_potter.authors] == ["J.K. Rowling", "Mary GrandPré"]

    odyssey = book(session, 3)
    assert odyssey.isbn13 == "9780439655484"
    assert odyssey.publication_year == -720
    assert [a.author.name for a in odyssey.authors] == ["Homer", "Robert Fagles"]

    assert book(session, 4).isbn13 is None  # malformed
    assert book(session, 5).isbn13 is None  # already used by book 1
    homer_books = session.scalar(
        select(func.count()).select_from(BookAuthor).join(Author).where(Author.name == "Homer")
    )
    assert homer_books == 2


def test_prices_pages_and_stock_are_generated_within_their_ranges(session, tmp_path):
    # given an imported catalog
    import_catalog(session, crafted_options(tmp_path, generate=None))
    import_catalog(session, options_for(tmp_path, generate=200))

    # then every book has a .99 price, a page count and stock in the default warehouse
    books = session.execute(select(Book.price_cents, Book.page_count)).all()
    assert len(books) == 205
    assert all(499 <= price <= 4999 and price % 100 == 99 for price, _ in books)
    assert all(80 <= pages < 1200 for _, pages in books)
    stock = session.execute(select(Stock.on_hand, Stock.reserved, Warehouse.is_default).join(
        Warehouse)).all()  # fmt: skip
    assert len(stock) == 205
    assert all(0 <= on_hand <= 40 and reserved == 0 and default for on_hand, reserved, default in
               stock)  # fmt: skip
    assert any(on_hand == 0 for on_hand, _, _ in stock)  # some sold out: in_stock filters bite


def test_commerce_values_are_pinned_to_the_source_id():
    # A change here re-prices and re-stocks every catalog already seeded: make it on purpose.
    assert commerce_for(1) == Commerce(
        price_cents=4399, page_count=407, on_hand=34, low_stock_threshold=2
    )
    assert commerce_for(3) == Commerce(
        price_cents=1599, page_count=520, on_hand=8, low_stock_threshold=7
    )


def test_second_import_changes_nothing(session, tmp_path):
    # given a catalog imported once
    options = crafted_options(tmp_path)
    import_catalog(session, options)
    import_catalog(session, options_for(tmp_path, generate=30))
    counts, snapshot = table_counts(session), catalog_snapshot(session)

    # when the same imports run again
    again = import_catalog(session, options)
    generated_again = import_catalog(session, options_for(tmp_path, generate=30))

    # then nothing is written and the summary says so
    assert (again.books_imported, again.books_unchanged) == (0, 5)
    assert (generated_again.books_imported, generated_again.books_unchanged) == (0, 30)
    assert not again.changed and not generated_again.changed
    assert again.authors_created == again.genres_created == 0
    assert sum(again.defects.values()) == 0
    assert again.lines()[-1] == "nothing changed: all 5 books were already present"
    assert table_counts(session) == counts
    assert catalog_snapshot(session) == snapshot


def test_every_stock_row_is_matched_by_its_import_ledger(session, tmp_path):
    # given an imported catalog, including sold-out books
    import_catalog(session, options_for(tmp_path, generate=150))
    import_catalog(session, crafted_options(tmp_path))

    # then the ledger sums to on-hand for every stock row, one "import" movement each
    mismatches = session.execute(
        text(
            "SELECT s.book_id, s.on_hand, coalesce(sum(m.delta_on_hand), 0) AS ledger, "
            "count(m.id) AS movements, bool_and(m.reason = 'import') AS all_import "
            "FROM stock s LEFT JOIN stock_movements m "
            "ON m.book_id = s.book_id AND m.warehouse_id = s.warehouse_id "
            "GROUP BY s.book_id, s.warehouse_id, s.on_hand "
            "HAVING s.on_hand <> coalesce(sum(m.delta_on_hand), 0) "
            "OR count(m.id) <> 1 OR NOT bool_and(m.reason = 'import')"
        )
    ).all()
    assert mismatches == []
    assert table_counts(session)["stock"] == table_counts(session)["stock_movements"] == 155


def test_two_imports_into_empty_databases_seed_the_same_catalog(committed, engine, tmp_path):
    # given a catalog imported from the dataset and the generator
    options = crafted_options(tmp_path)
    import_catalog(committed, options)
    import_catalog(committed, options_for(tmp_path, generate=60))
    first = catalog_snapshot(committed)
    committed.rollback()  # end the read transaction, or TRUNCATE waits for it

    # when the database is emptied and the same imports run again
    truncate_all(engine)
    import_catalog(committed, options)
    import_catalog(committed, options_for(tmp_path, generate=60))
    second = catalog_snapshot(committed)

    # then ids, titles, ISBNs, prices, pages and stock are identical (not the timestamps)
    assert len(first) == 65
    assert {k: v[:6] + v[7:] for k, v in first.items()} == {
        k: v[:6] + v[7:] for k, v in second.items()
    }


def test_generated_books_get_their_own_source_id_range(session, tmp_path):
    # when 25 books are generated
    summary = import_catalog(session, options_for(tmp_path, generate=25))

    # then they carry source ids above the dataset's and complete records
    assert summary.books_imported == 25
    ids = session.scalars(select(Book.source_id).order_by(Book.source_id)).all()
    assert ids == list(range(GENERATED_SOURCE_ID_START + 1, GENERATED_SOURCE_ID_START + 26))
    assert session.scalar(select(func.count()).select_from(Book).where(
        Book.isbn13.like("979%"), Book.description.is_not(None))) == 25  # fmt: skip
    assert session.scalar(select(func.count(func.distinct(BookAuthor.book_id)))) == 25
    assert session.scalar(select(func.count(func.distinct(BookGenre.book_id)))) == 25


def test_a_larger_generate_keeps_the_books_of_a_smaller_one(session, tmp_path):
    # given 10 generated books
    import_catalog(session, options_for(tmp_path, generate=10))
    before = catalog_snapshot(session)

    # when 30 are asked for
    summary = import_catalog(session, options_for(tmp_path, generate=30))

    # then the first 10 are untouched and 20 are added
    assert (summary.books_imported, summary.books_unchanged) == (20, 10)
    after = catalog_snapshot(session)
    assert {source_id: after[source_id] for source_id in before} == before


def test_generated_blocks_already_stored_are_not_generated_again():
    source = generated_source(1_500, is_stored=lambda first, last: first == 1_000_001)

    books = list(source.books)

    assert source.already_stored == 1_000
    assert [book.source_id for book in books] == list(range(1_001_001, 1_001_501))
    # the same book as when the first block is generated too
    assert books[0] == list(generated_source(1_001).books)[-1]


def test_missing_dataset_and_failed_download_fall_back_to_generated_books(session, tmp_path):
    # given no dataset folder and a download URL on a closed port
    options = options_for(tmp_path)

    # when the import runs
    summary = import_catalog(session, options)

    # then the download failure is reported and the generated catalog is imported
    assert "127.0.0.1" in summary.download_error
    assert summary.books_imported == 40
    assert "generated" in summary.source
    assert session.scalar(select(func.min(Book.source_id))) == GENERATED_SOURCE_ID_START + 1
    assert not (tmp_path / "downloads" / "books.csv").exists()


@contextmanager
def serving(folder: Path) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 offering ``folder``; yields the books.csv URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/books.csv"
    finally:
        server.shutdown()
        server.server_close()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


def test_missing_dataset_is_downloaded_and_kept_for_the_next_run(session, tmp_path):
    # given no dataset folder but an HTTP server offering books.csv
    served = tmp_path / "served"
    served.mkdir()
    goodbooks.write_books_csv(served / "books.csv", goodbooks.BOOKS)

    # when the import runs
    with serving(served) as url:
        summary = import_catalog(session, options_for(tmp_path, download_url=url))

    # then the downloaded books are imported (no genres or descriptions in that file)
    assert summary.books_imported == 5
    assert summary.download_error is None
    assert has_dataset(tmp_path / "downloads")

    # and a later run, offline, reuses the download instead of generating books
    later = import_catalog(session, options_for(tmp_path))
    assert (later.books_imported, later.books_unchanged) == (0, 5)
    assert later.download_error is None


def test_a_download_that_is_not_a_books_csv_is_discarded_for_generated_books(session, tmp_path):
    # given a server answering with bytes that are not UTF-8 CSV
    served = tmp_path / "served"
    served.mkdir()
    (served / "books.csv").write_bytes(b"\xff\xfe\x00<html>not a csv</html>")

    # when the import runs
    with serving(served) as url:
        summary = import_catalog(session, options_for(tmp_path, download_url=url))

    # then the generated catalog is imported and the bad file is not kept
    assert summary.download_error.startswith(url)
    assert summary.books_imported == 40
    assert not (tmp_path / "downloads" / "books.csv").exists()


def test_if_empty_leaves_a_catalog_with_books_alone(session, tmp_path):
    # given a catalog with one book
    make_book(title="Already here")

    # when an import runs with if_empty
    summary = import_catalog(session, crafted_options(tmp_path, if_empty=True))

    # then nothing is imported and the summary says why
    assert summary.skipped_because
    assert summary.books_imported == 0
    assert session.scalar(select(func.count()).select_from(Book)) == 1


def test_if_empty_imports_into_an_empty_catalog(session, tmp_path):
    summary = import_catalog(session, crafted_options(tmp_path, if_empty=True))

    assert summary.skipped_because is None
    assert summary.books_imported == 5


def test_an_import_that_changed_something_invalidates_the_catalog_cache(session, tmp_path):
    # given the cache generation before any import
    before = catalog_cache.generation()

    # when an import writes books, then the same import writes nothing
    import_catalog(session, crafted_options(tmp_path))
    after_first = catalog_cache.generation()
    import_catalog(session, crafted_options(tmp_path))

    # then only the first one bumped the generation
    assert after_first == before + 1
    assert catalog_cache.generation() == after_first


@pytest.mark.slow
def test_real_goodbooks_dataset_imports_with_the_documented_defect_counts(app, session):
    # given the shared goodbooks folder (skipped on machines without it)
    dataset = app.config["CATALOG_DATASET_DIR"]
    if not has_dataset(dataset):
        pytest.skip(f"no goodbooks dataset at {dataset}")

    # when it is imported
    summary = import_catalog(session, ImportOptions(dataset_dir=dataset, download_url=""))

    # then all 10,000 books are in with the README's defect counts
    assert summary.books_imported == 10_000
    assert summary.defects["isbn_missing"] == 700
    assert summary.defects["isbn_repaired"] == 9_300
    assert summary.defects["cover_placeholder"] == 3_332
    assert summary.defects["language_missing"] == 1_084
    assert summary.genres_created == 62
    assert summary.descriptions_attached == 1_830
    assert session.scalar(select(func.count()).select_from(Book)) == 10_000
    assert book(session, 1).isbn13 == "9780439023481"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("eng", "en"),
        ("en-US", "en"),
        ("en-GB", "en"),
        ("EN", "en"),
        ("fre", "fr"),
        ("ger", "de"),
        ("fil", "fil"),
        ("", None),
        (None, None),
    ],
)
def test_language_codes_are_normalised_to_iso_639_1(raw, expected):
    assert normalise_language(raw) == expected

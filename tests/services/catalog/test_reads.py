"""Catalog queries: filters, every sort paged by keyset cursors, genres, authors."""

from __future__ import annotations

from decimal import Decimal

import pytest

from models import BookStatus
from services.catalog import reads as catalog
from services.catalog.reads import BookFilters
from services.errors import InvalidCursor, InvalidInput, NotFound
from services.pagination import CursorCodec
from tests.factories import make_author, make_book, make_genre

# Python mirrors of the database orders (ids compare like PostgreSQL's uuid order).
EXPECTED_ORDER = {
    "bestselling": lambda b: (-b.sales_count, -b.ratings_count, b.id),
    "newest": lambda b: (b.publication_year is None, -(b.publication_year or 0), b.id),
    "rating": lambda b: (-b.average_rating, b.id),
    "price": lambda b: (b.price_cents, b.id),
    "-price": lambda b: (-b.price_cents, -b.id.int),
    "title": lambda b: (b.title, b.id),
}


def tied_catalog(count: int = 57, **extra) -> list:
    """Books with 10 distinct prices and ratings, few sales figures, repeated titles and
    some NULL publication years, so that every sort meets many ties."""
    return [
        make_book(
            title=f"Book {i % 9:02d}",
            price_cents=500 + (i % 10) * 100,
            average_rating=Decimal("3.00") + Decimal(i % 10) / 10,
            sales_count=i % 4,
            ratings_count=i % 3,
            publication_year=None if i % 6 == 0 else 1990 + i % 8,
            **extra,
        )
        for i in range(count)
    ]


def page_through(sort: str, limit: int, filters: BookFilters | None = None) -> list:
    ids, cursor, pages = [], None, 0
    while True:
        page = catalog.list_books(filters or BookFilters(), sort, limit, cursor)
        assert len(page.items) <= limit
        ids.extend(item["id"] for item in page.items)
        pages += 1
        assert pages < 100, "paging does not end"
        if page.next_cursor is None:
            return ids
        cursor = page.next_cursor


@pytest.mark.parametrize("sort", list(EXPECTED_ORDER))
def test_paging_visits_every_active_book_once_in_sort_order(session, sort):
    # given 57 active books full of ties and 4 archived ones
    books = tied_catalog()
    for i in range(4):
        make_book(title=f"Gone {i}", status=BookStatus.ARCHIVED)
    # when every page of 7 is fetched in turn
    ids = page_through(sort, limit=7)
    # then each active book comes exactly once, in the sort's order
    assert ids == [book.id for book in sorted(books, key=EXPECTED_ORDER[sort])]


@pytest.mark.parametrize("limit", [1, 2, 3, 5])
def test_newest_pages_cross_from_dated_books_to_undated_ones(session, limit):
    # given two dated books and three without a publication year
    books = [make_book(publication_year=year) for year in (2000, 2001, None, None, None)]
    # when paging by newest, pages ending on the last dated book included
    ids = page_through("newest", limit=limit)
    # then the undated books follow the dated ones, each once
    assert ids == [book.id for book in sorted(books, key=EXPECTED_ORDER["newest"])]


def test_a_page_exactly_filling_the_list_has_no_next_cursor(session):
    tied_catalog(count=7)
    page = catalog.list_books(BookFilters(), "price", 7, None)
    assert len(page.items) == 7
    assert page.next_cursor is None


def test_filters_combine(session):
    fantasy, horror = make_genre("fantasy"), make_genre("horror")
    author = make_author("Ursula K. Le Guin")
    wanted = make_book(
        "Earthsea", 1200, genres=[fantasy], authors=[author], language="eng", on_hand=3
    )
    make_book("Cheap", 300, genres=[fantasy], authors=[author], language="eng")
    make_book("French", 1200, genres=[fantasy], authors=[author], language="fre")
    make_book("Scary", 1200, genres=[horror], authors=[author], language="eng")
    make_book("Other author", 1200, genres=[fantasy], authors=["Somebody"], language="eng")
    make_book("Sold out", 1200, genres=[fantasy], authors=[author], language="eng", on_hand=0)
    filters = BookFilters(
        genre="fantasy", author=author.id, language="eng", price_min=1000, price_max=1500
    )

    page = catalog.list_books(
        BookFilters(**{**filters.__dict__, "in_stock": True}), "title", 20, None
    )

    assert [item["id"] for item in page.items] == [wanted.id]


def test_in_stock_sums_every_warehouse_minus_reservations(session):
    from models import Stock, Warehouse

    held = make_book("All held", on_hand=2, reserved=2)
    split = make_book("Second warehouse only", on_hand=0)
    empty = make_book("Empty", on_hand=0)
    spare = Warehouse(code="spare", name="Spare")
    session.add(spare)
    session.flush()
    session.add(Stock(book_id=split.id, warehouse_id=spare.id, on_hand=4, reserved=1))
    session.commit()

    in_stock = catalog.list_books(BookFilters(in_stock=True), "title", 20, None)
    out_of_stock = catalog.list_books(BookFilters(in_stock=False), "title", 20, None)

    assert [item["id"] for item in in_stock.items] == [split.id]
    assert in_stock.items[0]["availability"] == {"in_stock": True, "available": 3}
    assert {item["id"] for item in out_of_stock.items} == {held.id, empty.id}


def test_unknown_sort_is_invalid_input(session):
    with pytest.raises(InvalidInput):
        catalog.list_books(BookFilters(), "popularity", 5, None)


def test_unknown_genre_lists_nothing(session):
    make_book(genres=["fantasy"])
    page = catalog.list_books(BookFilters(genre="no-such-genre"), "title", 20, None)
    assert page.items == [] and page.next_cursor is None


@pytest.mark.parametrize(
    "cursor", ["garbage", "", "a" * 5000, "WyJ4Il0.forged-signature", "W251bGwsbnVsbF0"]
)
def test_malformed_or_forged_cursors_are_refused(session, cursor):
    make_book()
    if cursor == "":
        # An empty cursor means "first page".
        assert catalog.list_books(BookFilters(), "title", 5, cursor).items
        return
    with pytest.raises(InvalidCursor):
        catalog.list_books(BookFilters(), "title", 5, cursor)


def test_a_cursor_only_works_for_the_sort_and_secret_it_was_issued_for(session):
    tied_catalog(count=5)
    cursor = catalog.list_books(BookFilters(), "price", 2, None).next_cursor
    assert catalog.list_books(BookFilters(), "price", 2, cursor).items
    with pytest.raises(InvalidCursor):
        catalog.list_books(BookFilters(), "-price", 2, cursor)
    order = catalog.BOOK_SORTS["price"]
    values = CursorCodec("catalog.books.price").decode(order, cursor)
    foreign = CursorCodec("catalog.books.price", keys=["another-key"]).encode(order, values)
    with pytest.raises(InvalidCursor):
        catalog.list_books(BookFilters(), "price", 2, foreign)


def test_a_signed_cursor_with_values_of_the_wrong_type_is_refused(session):
    make_book()
    order = catalog.BOOK_SORTS["rating"]
    codec = CursorCodec("catalog.books.rating")
    forged = codec._serializer.dumps(["NaN", "not-a-uuid"])
    with pytest.raises(InvalidCursor):
        catalog.list_books(BookFilters(), "rating", 5, forged)
    assert codec.decode(order, codec._serializer.dumps(["4.5", str(make_book().id)]))


def test_a_page_costs_the_same_few_queries_whatever_its_size(session, engine):
    from sqlalchemy import event

    for i in range(30):
        make_book(f"Book {i}", authors=[f"Author {i}", "Shared"], genres=["fantasy", f"g{i}"])
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("SELECT"):  # not the test's SAVEPOINTs
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        small = catalog.list_books(BookFilters(genre="fantasy"), "title", 3, None)
        small_queries = len(statements)
        statements.clear()
        large = catalog.list_books(BookFilters(genre="fantasy"), "title", 30, None)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(small.items) == 3 and len(large.items) == 30
    assert all(len(item["authors"]) == 2 for item in large.items)
    # genre lookup, the page, its authors, its genres, its stock
    assert small_queries == len(statements) == 5


def test_book_detail_has_description_and_rating_summary(session):
    book = make_book(
        "Dune",
        description="Spice.",
        page_count=412,
        average_rating=Decimal("4.25"),
        ratings_count=80,
        authors=["Frank Herbert"],
        genres=["science_fiction", "classics"],
    )
    detail = catalog.get_book(book.id)
    assert detail["description"] == "Spice."
    assert detail["page_count"] == 412
    assert detail["rating"] == {"average": Decimal("4.25"), "count": 80}
    assert [author["name"] for author in detail["authors"]] == ["Frank Herbert"]
    assert detail["genres"] == ["science_fiction", "classics"]


def test_archived_book_detail_is_not_found(session):
    book = make_book(status=BookStatus.ARCHIVED)
    with pytest.raises(NotFound):
        catalog.get_book(book.id)


def test_genres_count_only_active_books(session):
    make_book(genres=["fantasy", "horror"])
    make_book(genres=["fantasy"])
    make_book(genres=["fantasy"], status=BookStatus.ARCHIVED)
    make_genre("poetry")
    counts = {genre["slug"]: genre["books_count"] for genre in catalog.list_genres()}
    assert counts == {"fantasy": 2, "horror": 1, "poetry": 0}


def test_author_search_is_case_insensitive_and_escapes_wildcards(session):
    for name in ["Terry Pratchett", "Neil Gaiman", "PRATT Harriet", "100% Author"]:
        make_author(name)
    names = [a["name"] for a in catalog.search_authors("prat", 20, None).items]
    assert names == ["PRATT Harriet", "Terry Pratchett"]
    names = [a["name"] for a in catalog.search_authors("%", 20, None).items]
    assert names == ["100% Author"]
    names = [a["name"] for a in catalog.search_authors("  gaiman ", 20, None).items]
    assert names == ["Neil Gaiman"]


def test_author_search_pages_by_name(session):
    authors = [make_author(f"Writer {i:02d}") for i in range(11)]
    seen, cursor = [], None
    while True:
        page = catalog.search_authors("writer", 4, cursor)
        seen.extend(item["id"] for item in page.items)
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert seen == [author.id for author in authors]


def test_author_detail_lists_active_books_best_selling_first(session):
    author = make_author("Agatha Christie")
    slow = make_book("Slow", authors=[author], sales_count=1)
    fast = make_book("Fast", authors=[author], sales_count=9)
    make_book("Gone", authors=[author], status=BookStatus.ARCHIVED)
    detail = catalog.get_author(author.id)
    assert [book["id"] for book in detail["books"]] == [fast.id, slow.id]
    assert detail["books_count"] == 2

"""Catalog reads: book lists (filters, sorts, signed cursors), book detail, genres with
counts, author search and author detail. Results are plain dicts ready for the API."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Row, Select, exists, func, select

from models import Author, Book, BookAuthor, BookGenre, BookStatus, Genre, Stock, db
from services.errors import InvalidInput, NotFound
from services.pagination import (
    CursorCodec,
    Page,
    SortKey,
    SortOrder,
    decimal_key,
    text_key,
    uuid_key,
)
from services.reviews import summary as rating_summary

_BOOK_ID = SortKey(Book.id, parse=uuid_key)

BOOK_SORTS: dict[str, SortOrder] = {
    "bestselling": SortOrder(
        (
            SortKey(Book.sales_count, descending=True),
            SortKey(Book.ratings_count, descending=True),
            _BOOK_ID,
        )
    ),
    "newest": SortOrder((SortKey(Book.publication_year, descending=True, nullable=True), _BOOK_ID)),
    "rating": SortOrder(
        (SortKey(Book.average_rating, descending=True, parse=decimal_key), _BOOK_ID)
    ),
    "price": SortOrder((SortKey(Book.price_cents), _BOOK_ID)),
    # Both keys descending, so the price index serves it read backwards.
    "-price": SortOrder(
        (SortKey(Book.price_cents, descending=True), SortKey(Book.id, True, parse=uuid_key))
    ),
    # The stored sort key: no leading punctuation or article, code-point order (models.catalog).
    "title": SortOrder((SortKey(Book.title_sort, parse=text_key), _BOOK_ID)),
}
DEFAULT_BOOK_SORT = "bestselling"

AUTHOR_ORDER = SortOrder((SortKey(Author.name, parse=text_key), SortKey(Author.id, parse=uuid_key)))

# The columns a book card is built from; they include every sort key.
CARD_COLUMNS = (
    Book.id,
    Book.isbn13,
    Book.title,
    Book.language,
    Book.publication_year,
    Book.price_cents,
    Book.currency,
    Book.cover_url,
    Book.average_rating,
    Book.ratings_count,
    Book.sales_count,
    Book.title_sort,
)

# An author page shows this many of their books; the rest page through /books?author=.
AUTHOR_BOOKS_SHOWN = 100


@dataclass(frozen=True)
class BookFilters:
    genre: str | None = None
    author: uuid.UUID | None = None
    language: str | None = None
    price_min: int | None = None
    price_max: int | None = None
    in_stock: bool | None = None


class UnknownLanguage(InvalidInput):
    """No active book has this language code; GET /languages lists those that do."""

    error = "unknown_language"


def list_books(
    filters: BookFilters,
    sort: str,
    limit: int,
    cursor: str | None,
) -> Page:
    """One page of active books in ``sort`` order, after ``cursor`` when given."""
    order = BOOK_SORTS.get(sort)
    if order is None:
        raise InvalidInput(f"Unknown sort {sort!r}; use one of {', '.join(BOOK_SORTS)}.")
    codec = CursorCodec(f"catalog.books.{sort}")
    after = codec.decode(order, cursor) if cursor else None
    if filters.language is not None:
        check_language(filters.language)
    stmt = _active_books()
    if filters.genre is not None:
        genre_id = db.session.scalar(select(Genre.id).where(Genre.slug == filters.genre))
        if genre_id is None:
            return Page([], None)
        stmt = stmt.where(
            exists().where(BookGenre.book_id == Book.id, BookGenre.genre_id == genre_id)
        )
    stmt = _filtered(stmt, filters).order_by(*order.order_by())
    books = fetch_after(stmt, order, after, limit + 1)
    more = len(books) > limit
    books = books[:limit]
    next_cursor = codec.encode(order, order.values_of(books[-1])) if more else None
    return Page(book_cards(books), next_cursor)


def get_book(book_id: uuid.UUID) -> dict:
    """An active book with its description, page count, availability and rating summary."""
    book = db.session.execute(
        _active_books(Book.description, Book.page_count, Book.rating_histogram).where(
            Book.id == book_id
        )
    ).first()
    if book is None:
        raise NotFound("No book with this id.")
    card = book_cards([book])[0]
    card.update(
        description=book.description,
        page_count=book.page_count,
        rating={"average": book.average_rating, "count": book.ratings_count},
        rating_histogram=rating_summary.histogram_of(
            book.rating_histogram, book.average_rating, book.ratings_count
        ),
    )
    return card


def list_genres() -> list[dict]:
    """Every genre by name, with how many active books it holds (the count the database keeps
    on the genre row: models.catalog.Genre.books_count)."""
    rows = db.session.execute(
        select(Genre.slug, Genre.name, Genre.books_count).order_by(Genre.name, Genre.slug)
    ).all()
    return [{"slug": slug, "name": name, "books_count": count} for slug, name, count in rows]


def check_language(code: str) -> None:
    """Refuse a language no active book has, so a typo is not an empty page."""
    known = db.session.scalar(
        select(exists().where(Book.language == code, Book.status == BookStatus.ACTIVE))
    )
    if not known:
        raise UnknownLanguage(
            f"No book in the catalog has language {code!r}; "
            "GET /api/v1/languages lists the codes in use."
        )


def list_languages() -> list[dict]:
    """Every language code of the active catalog with its count of books, most books first."""
    rows = db.session.execute(
        select(Book.language, func.count())
        .where(Book.status == BookStatus.ACTIVE, Book.language.is_not(None))
        .group_by(Book.language)
        .order_by(func.count().desc(), Book.language)
    ).all()
    return [{"code": code, "books_count": count} for code, count in rows]


def search_authors(query: str | None, limit: int, cursor: str | None) -> Page:
    """Authors by name, those whose name contains ``query`` (any case) when given."""
    codec = CursorCodec("catalog.authors.name")
    stmt = select(Author.id, Author.name)
    query = (query or "").strip()
    if query:
        stmt = stmt.where(Author.name.ilike(f"%{escape_like(query)}%", escape="\\"))
    after = codec.decode(AUTHOR_ORDER, cursor) if cursor else None
    stmt = stmt.order_by(*AUTHOR_ORDER.order_by())
    authors = fetch_after(stmt, AUTHOR_ORDER, after, limit + 1)
    more = len(authors) > limit
    authors = authors[:limit]
    counts = active_book_counts(author.id for author in authors)
    items = [
        {"id": author.id, "name": author.name, "books_count": counts.get(author.id, 0)}
        for author in authors
    ]
    next_cursor = codec.encode(AUTHOR_ORDER, AUTHOR_ORDER.values_of(authors[-1])) if more else None
    return Page(items, next_cursor)


def get_author(author_id: uuid.UUID) -> dict:
    """An author with their best-selling active books."""
    author = db.session.get(Author, author_id)
    if author is None:
        raise NotFound("No author with this id.")
    written = exists().where(BookAuthor.book_id == Book.id, BookAuthor.author_id == author_id)
    order = BOOK_SORTS[DEFAULT_BOOK_SORT]
    books = db.session.execute(
        _active_books().where(written).order_by(*order.order_by()).limit(AUTHOR_BOOKS_SHOWN)
    ).all()
    return {
        "id": author.id,
        "name": author.name,
        "books_count": active_book_counts([author.id]).get(author.id, 0),
        "books": book_cards(books),
    }


def book_cards(books: Sequence[Row]) -> list[dict]:
    """The list body of each book row (of ``_active_books``): its authors, genres and stock
    come in one query each for all the rows."""
    ids = [book.id for book in books]
    if not ids:
        return []
    authors: dict[uuid.UUID, list[dict]] = defaultdict(list)
    for book_id, author_id, name in db.session.execute(
        select(BookAuthor.book_id, Author.id, Author.name)
        .join(Author, Author.id == BookAuthor.author_id)
        .where(BookAuthor.book_id.in_(ids))
        .order_by(BookAuthor.position, Author.name)
    ):
        authors[book_id].append({"id": author_id, "name": name})
    genres: dict[uuid.UUID, list[str]] = defaultdict(list)
    for book_id, slug in db.session.execute(
        select(BookGenre.book_id, Genre.slug)
        .join(Genre, Genre.id == BookGenre.genre_id)
        .where(BookGenre.book_id.in_(ids))
        .order_by(BookGenre.position, Genre.slug)
    ):
        genres[book_id].append(slug)
    available = _available_by_book(ids)
    return [
        _card(book, authors[book.id], genres[book.id], available.get(book.id, 0)) for book in books
    ]


def _card(book: Row, authors: list[dict], genres: list[str], available: int) -> dict:
    available = max(available, 0)
    return {
        "id": book.id,
        "isbn13": book.isbn13,
        "title": book.title,
        "authors": authors,
        "genres": genres,
        "language": book.language,
        "publication_year": book.publication_year,
        "price_cents": book.price_cents,
        "currency": book.currency,
        "cover_url": book.cover_url,
        "average_rating": book.average_rating,
        "ratings_count": book.ratings_count,
        "availability": {"in_stock": available > 0, "available": available},
    }


def fetch_after(stmt: Select, order: SortOrder, after: list | None, count: int) -> list:
    """Up to ``count`` rows of the ordered ``stmt`` that come after the ``after`` values."""
    if after is None:
        return list(db.session.execute(stmt.limit(count)).all())
    rows: list = []
    for clauses in order.seeks(after):
        rows.extend(db.session.execute(stmt.where(*clauses).limit(count - len(rows))).all())
        if len(rows) >= count:
            break
    return rows


def _active_books(*extra_columns) -> Select:
    """Active books as rows of the card's columns (every sort key among them)."""
    return select(*CARD_COLUMNS, *extra_columns).where(Book.status == BookStatus.ACTIVE)


def _filtered(stmt: Select, filters: BookFilters) -> Select:
    if filters.author is not None:
        # An author has few books: fetch them first, then sort them. As an EXISTS, the planner
        # walks the sort order's index through every book looking for them (100k books, an
        # author of 625: 47 ms; this way 6 ms, tests/bench/explain.py).
        written = (
            select(BookAuthor.book_id)
            .where(BookAuthor.author_id == filters.author)
            .cte("written")
            .prefix_with("MATERIALIZED")
        )
        stmt = stmt.join(written, written.c.book_id == Book.id)
    if filters.language is not None:
        stmt = stmt.where(Book.language == filters.language)
    if filters.price_min is not None:
        stmt = stmt.where(Book.price_cents >= filters.price_min)
    if filters.price_max is not None:
        stmt = stmt.where(Book.price_cents <= filters.price_max)
    if filters.in_stock is not None:
        available = (
            select(func.coalesce(func.sum(Stock.on_hand - Stock.reserved), 0))
            .where(Stock.book_id == Book.id)
            .scalar_subquery()
        )
        stmt = stmt.where(available > 0 if filters.in_stock else available <= 0)
    return stmt


def _available_by_book(book_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    if not book_ids:
        return {}
    rows = db.session.execute(
        select(Stock.book_id, func.sum(Stock.on_hand - Stock.reserved))
        .where(Stock.book_id.in_(book_ids))
        .group_by(Stock.book_id)
    ).all()
    return {book_id: int(total) for book_id, total in rows}


def active_book_counts(author_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, int]:
    ids = list(author_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(BookAuthor.author_id, func.count())
        .join(Book, Book.id == BookAuthor.book_id)
        .where(BookAuthor.author_id.in_(ids), Book.status == BookStatus.ACTIVE)
        .group_by(BookAuthor.author_id)
    ).all()
    return dict(rows)


def escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

"""Staff changes to the catalog: books, genres and authors, validated, audited, and followed by
a catalog cache invalidation once committed."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from models import Author, Book, BookAuthor, BookGenre, BookStatus, Genre, Stock, Warehouse, db
from services.catalog import cache as catalog_cache
from services.errors import Conflict, InvalidInput, NotFound
from services.ops import audit
from services.search import freshness as search_freshness

BOOK_FIELDS = (
    "title",
    "description",
    "language",
    "publication_year",
    "page_count",
    "price_cents",
    "currency",
    "status",
)
SLUG_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class BookNotFound(NotFound):
    """No book with this id."""


class InvalidIsbn(InvalidInput):
    """The ISBN-13 is not valid."""

    error = "invalid_isbn"


class IsbnTaken(Conflict):
    """Another book already has this ISBN-13."""

    error = "isbn_taken"


class UnknownGenre(InvalidInput):
    """A genre does not exist; create it first (POST /genres)."""

    error = "unknown_genre"


class UnknownAuthor(InvalidInput):
    """An author id does not exist; create the author first (POST /authors)."""

    error = "unknown_author"


class GenreExists(Conflict):
    """A genre with this slug already exists."""

    error = "genre_exists"


class AuthorExists(Conflict):
    """An author with this name already exists."""

    error = "author_exists"


def normalise_isbn13(raw: str) -> str:
    """Digits only, or InvalidIsbn naming what is wrong."""
    digits = re.sub(r"[\s-]", "", raw or "")
    if not re.fullmatch(r"\d{13}", digits):
        raise InvalidIsbn("An ISBN-13 has 13 digits (hyphens and spaces are ignored).")
    weighted = sum(int(d) * (1 if i % 2 == 0 else 3) for i, d in enumerate(digits[:12]))
    if (10 - weighted % 10) % 10 != int(digits[12]):
        raise InvalidIsbn(f"{raw} fails the ISBN-13 checksum; check the digits.")
    return digits


def snapshot(book: Book) -> dict:
    """The staff-editable state of a book as JSON (for the audit trail and the responses)."""
    return {
        "id": str(book.id),
        "isbn13": book.isbn13,
        **{field: getattr(book, field) for field in BOOK_FIELDS},
        "cover_url": book.cover_url,
        "authors": [{"id": str(link.author.id), "name": link.author.name} for link in book.authors],
        "genres": [link.genre.slug for link in book.genres],
    }


def get_book(book_id: uuid.UUID) -> Book:
    book = db.session.get(Book, book_id)
    if book is None:
        raise BookNotFound()
    return book


def create_book(actor_id: uuid.UUID, values: Mapping, default_currency: str = "USD") -> Book:
    book = Book(price_cents=0, currency=default_currency, status=BookStatus.ACTIVE, title="")
    _apply(book, values)
    db.session.add(book)
    _flush_or_conflict()
    _add_default_stock(book)
    audit.record(actor_id, "create", "book", book.id, None, snapshot(book))
    _commit_and_invalidate(book)
    return book


def update_book(actor_id: uuid.UUID, book_id: uuid.UUID, values: Mapping) -> Book:
    book = _locked_book(book_id)
    before = snapshot(book)
    _apply(book, values)
    _flush_or_conflict()
    after = snapshot(book)
    if after != before:
        audit.record(actor_id, "update", "book", book.id, before, after)
    _commit_and_invalidate(book)
    return book


def archive_book(actor_id: uuid.UUID, book_id: uuid.UUID) -> Book:
    """Archived books leave browsing; orders that hold them keep them."""
    book = _locked_book(book_id)
    if book.status != BookStatus.ARCHIVED:
        before = snapshot(book)
        book.status = BookStatus.ARCHIVED
        audit.record(actor_id, "archive", "book", book.id, before, snapshot(book))
    _commit_and_invalidate(book)
    return book


def set_cover_url(actor_id: uuid.UUID | None, book_id: uuid.UUID, cover_url: str) -> Book:
    book = _locked_book(book_id)
    before = snapshot(book)
    book.cover_url = cover_url
    audit.record(actor_id, "cover", "book", book.id, before, snapshot(book))
    _commit_and_invalidate(book)
    return book


def create_genre(actor_id: uuid.UUID, slug: str, name: str) -> Genre:
    slug = slug.strip().lower()
    if not SLUG_PATTERN.match(slug):
        raise InvalidInput(
            "A genre slug is lower-case letters and digits separated by hyphens, e.g. "
            "'science-fiction'.",
            slug=["Not a valid slug."],
        )
    if db.session.scalar(select(Genre).where(Genre.slug == slug)) is not None:
        raise GenreExists()
    genre = Genre(slug=slug, name=name.strip())
    db.session.add(genre)
    _flush_or_conflict(GenreExists)
    audit.record(actor_id, "create", "genre", genre.id, None, {"slug": slug, "name": genre.name})
    _commit_and_invalidate()
    return genre


def create_author(actor_id: uuid.UUID, name: str) -> Author:
    name = " ".join(name.split())
    if db.session.scalar(select(Author).where(Author.name == name)) is not None:
        raise AuthorExists()
    author = Author(name=name)
    db.session.add(author)
    _flush_or_conflict(AuthorExists)
    audit.record(actor_id, "create", "author", author.id, None, {"name": name})
    _commit_and_invalidate()
    return author


def _apply(book: Book, values: Mapping) -> None:
    if "isbn13" in values:
        isbn = normalise_isbn13(values["isbn13"]) if values["isbn13"] else None
        # Checked before any lookup below can autoflush the duplicate into an IntegrityError
        # (a unique index still guards the race; _flush_or_conflict maps it).
        if isbn and db.session.scalar(
            select(Book.id).where(Book.isbn13 == isbn, Book.id != book.id).limit(1)
        ):
            raise IsbnTaken()
        book.isbn13 = isbn
    for field in BOOK_FIELDS:
        if field in values:
            setattr(book, field, values[field])
    if book.price_cents is None or book.price_cents < 0:
        raise InvalidInput("The price must be 0 or more (in minor units, e.g. cents).")
    if not (book.title or "").strip():
        raise InvalidInput("A book needs a title.", title=["Missing data for required field."])
    if book.currency:
        book.currency = book.currency.upper()
    if "genres" in values:
        book.genres = [
            BookGenre(genre=genre, position=i)
            for i, genre in enumerate(_genres_by_slug(values["genres"]))
        ]
    if "author_ids" in values or "author_names" in values:
        authors = _authors_by_id(values.get("author_ids") or [])
        authors += [_author_named(name) for name in values.get("author_names") or []]
        unique = list({author.id: author for author in authors}.values())
        book.authors = [BookAuthor(author=author, position=i) for i, author in enumerate(unique)]


def _genres_by_slug(slugs) -> list[Genre]:
    wanted = [slug.strip().lower() for slug in slugs]
    found = {g.slug: g for g in db.session.scalars(select(Genre).where(Genre.slug.in_(wanted)))}
    missing = [slug for slug in wanted if slug not in found]
    if missing:
        raise UnknownGenre(
            f"Unknown genre: {', '.join(missing)}. Create it first (POST /genres).",
            genres=[f"Unknown genre {slug!r}." for slug in missing],
        )
    return [found[slug] for slug in dict.fromkeys(wanted)]


def _authors_by_id(ids) -> list[Author]:
    found = {a.id: a for a in db.session.scalars(select(Author).where(Author.id.in_(ids)))}
    missing = [str(author_id) for author_id in ids if author_id not in found]
    if missing:
        raise UnknownAuthor(f"Unknown author id: {', '.join(missing)}.")
    return [found[author_id] for author_id in ids]


def _author_named(name: str) -> Author:
    name = " ".join(name.split())
    author = db.session.scalar(select(Author).where(Author.name == name))
    if author is None:
        author = Author(name=name)
        db.session.add(author)
        db.session.flush()
    return author


def _add_default_stock(book: Book) -> None:
    warehouse = db.session.scalar(select(Warehouse).where(Warehouse.is_default))
    if warehouse is not None:
        db.session.add(Stock(book_id=book.id, warehouse_id=warehouse.id, on_hand=0))


def _locked_book(book_id: uuid.UUID) -> Book:
    book = db.session.scalars(
        select(Book).where(Book.id == book_id).with_for_update()
    ).one_or_none()
    if book is None:
        raise BookNotFound()
    return book


def _flush_or_conflict(error_class: type[Conflict] = IsbnTaken) -> None:
    try:
        db.session.flush()
    except IntegrityError as exc:
        db.session.rollback()
        raise error_class() from exc


def _commit_and_invalidate(book: Book | None = None, reason: str = "staff") -> None:
    if book is not None:
        search_freshness.book_changed([book.id], reason)
    db.session.commit()
    catalog_cache.invalidate()

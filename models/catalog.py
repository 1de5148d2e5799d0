"""Catalog tables: books, their ordered authors and their genres."""

from __future__ import annotations

import enum
import uuid
from decimal import Decimal

from sqlalchemy import (
    CheckConstraint,
    Computed,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.db import Base, TimestampMixin, new_id

# The title as it sorts: accents and leading punctuation dropped, then a leading article
# ("The", "A", "An"), lower case. Compared in code-point order (collation "C", present on every
# PostgreSQL build, ICU or not), so Latin comes before Greek, Cyrillic, Arabic and CJK titles.
_SORT_PUNCTUATION = (
    r"[\s\u0021-\u002f\u003a-\u0040\u005b-\u0060\u007b-\u007e\u00a1-\u00bf\u2010-\u205e]"
)
TITLE_SORT_SQL = (
    r"regexp_replace(regexp_replace(regexp_replace(normalize(lower(title), NFD), "
    r"'[\u0300-\u036f]', '', 'g'), "
    f"'^{_SORT_PUNCTUATION}+', ''), "
    f"'^(the|an?)\\s+{_SORT_PUNCTUATION}*', '')"
)


class BookStatus(enum.StrEnum):
    ACTIVE = "active"
    ARCHIVED = "archived"


class Book(TimestampMixin, Base):
    __tablename__ = "books"
    __table_args__ = (
        CheckConstraint("price_cents >= 0", name="price_not_negative"),
        CheckConstraint("status IN ('active', 'archived')", name="status_known"),
        # Keyset pagination indexes: one per sort order, id as the tie-breaker.
        Index("ix_books_sales", text("sales_count DESC"), text("ratings_count DESC"), "id"),
        Index("ix_books_rating", text("average_rating DESC"), "id"),
        Index("ix_books_newest", text("publication_year DESC NULLS LAST"), "id"),
        Index("ix_books_price", "price_cents", "id"),
        Index("ix_books_title_sort", "title_sort", "id"),
        # GET /languages counts active books per language from this index alone (an index-only
        # scan), and the language filter and its check use it.
        Index(
            "ix_books_active_language",
            "language",
            postgresql_where=text("status = 'active'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    # Row number in the source dataset (goodbooks book_id); makes the import idempotent.
    source_id: Mapped[int | None] = mapped_column(unique=True)
    isbn13: Mapped[str | None] = mapped_column(String(13), unique=True)
    title: Mapped[str] = mapped_column(Text)
    title_sort: Mapped[str] = mapped_column(
        Text(collation="C"), Computed(TITLE_SORT_SQL, persisted=True)
    )
    description: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(16))
    publication_year: Mapped[int | None]
    page_count: Mapped[int | None]
    price_cents: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3), default="USD", server_default="USD")
    cover_url: Mapped[str | None] = mapped_column(Text)
    average_rating: Mapped[Decimal] = mapped_column(Numeric(3, 2), default=0, server_default="0")
    ratings_count: Mapped[int] = mapped_column(default=0, server_default="0")
    # {"1": n, ..., "5": n}: the ratings imported with the book (None when the source had no
    # histogram), and the summary shown (imported plus visible reviews; sums to ratings_count).
    imported_ratings: Mapped[dict | None] = mapped_column(JSONB)
    rating_histogram: Mapped[dict | None] = mapped_column(JSONB)
    sales_count: Mapped[int] = mapped_column(default=0, server_default="0")
    status: Mapped[str] = mapped_column(
        String(16), default=BookStatus.ACTIVE, server_default=BookStatus.ACTIVE.value
    )

    authors: Mapped[list[BookAuthor]] = relationship(
        back_populates="book", order_by="BookAuthor.position", cascade="all, delete-orphan"
    )
    genres: Mapped[list[BookGenre]] = relationship(
        back_populates="book", order_by="BookGenre.position", cascade="all, delete-orphan"
    )


class Author(TimestampMixin, Base):
    __tablename__ = "authors"
    __table_args__ = (
        # Author search (services.search.authors) matches parts of the folded name.
        Index(
            "ix_authors_name_folded_trgm",
            func.search_fold(text("name")).label("folded"),
            postgresql_using="gin",
            postgresql_ops={"folded": "gin_trgm_ops"},
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(Text, unique=True)

    books: Mapped[list[BookAuthor]] = relationship(back_populates="author")


class BookAuthor(Base):
    __tablename__ = "book_authors"

    book_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("books.id", ondelete="CASCADE"), primary_key=True
    )
    author_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("authors.id", ondelete="RESTRICT"), primary_key=True, index=True
    )
    position: Mapped[int] = mapped_column(default=0)

    book: Mapped[Book] = relationship(back_populates="authors")
    author: Mapped[Author] = relationship(back_populates="books", lazy="joined")


class Genre(Base):
    __tablename__ = "genres"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    # Active books linked to the genre, kept by database triggers (migration 0017) in the
    # transaction that changes a link or a book's status: GET /genres reads it, not the links.
    books_count: Mapped[int] = mapped_column(default=0, server_default="0")


class BookGenre(Base):
    __tablename__ = "book_genres"

    book_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("books.id", ondelete="CASCADE"), primary_key=True
    )
    genre_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("genres.id", ondelete="RESTRICT"), primary_key=True, index=True
    )
    position: Mapped[int] = mapped_column(default=0)

    book: Mapped[Book] = relationship(back_populates="genres")
    genre: Mapped[Genre] = relationship(lazy="joined")

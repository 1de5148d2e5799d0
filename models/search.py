"""Search documents: one denormalised, weighted row per active book, kept by the reindexer."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, ForeignKey, Index, Numeric, String, Text, Uuid, func
from sqlalchemy.dialects.postgresql import ARRAY, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from models.db import Base


class SearchDocument(Base):
    """What the PostgreSQL search backend matches, filters, facets and ranks on. ``version`` is
    the book's ``updated_at`` when the row was built: an older build never overwrites it."""

    __tablename__ = "search_documents"
    __table_args__ = (
        Index("ix_search_documents_document", "document", postgresql_using="gin"),
        Index("ix_search_documents_prefixes", "prefixes", postgresql_using="gin"),
        Index("ix_search_documents_genres", "genres", postgresql_using="gin"),
    )

    book_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("books.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[datetime]
    title: Mapped[str] = mapped_column(Text)
    authors: Mapped[str] = mapped_column(Text)  # names, comma separated
    author_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(Uuid()))
    genres: Mapped[list[str]] = mapped_column(ARRAY(String(64)))
    description: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(16))
    publication_year: Mapped[int | None]
    price_cents: Mapped[int]
    average_rating: Mapped[Decimal] = mapped_column(Numeric(3, 2))
    ratings_count: Mapped[int]
    sales_count: Mapped[int]
    in_stock: Mapped[bool]
    # title A, authors A, series and genres B, description C (english, accents folded)
    document: Mapped[str] = mapped_column(TSVECTOR)
    # every folded word of title and authors, for prefix completion ('simple' config)
    prefixes: Mapped[str] = mapped_column(TSVECTOR)
    indexed_at: Mapped[datetime] = mapped_column(server_default=func.now())


class SearchWord(Base):
    """The folded words of the indexed books and how many books hold each: the vocabulary
    that typo correction and did_you_mean pick from (trigram index in the migration)."""

    __tablename__ = "search_words"
    __table_args__ = (
        Index(
            "ix_search_words_trigrams",
            "word",
            postgresql_using="gin",
            postgresql_ops={"word": "gin_trgm_ops"},
        ),
    )

    word: Mapped[str] = mapped_column(Text, primary_key=True)
    books: Mapped[int]


class SearchSuggestion(Base):
    """What suggest completes from: one narrow row per indexed book and per author of one,
    with its prefix words and popularity (an author's is the sum of their books'), so that a
    prefix matching thousands of books reads a few pages, not their wide documents."""

    __tablename__ = "search_suggestions"
    __table_args__ = (Index("ix_search_suggestions_prefixes", "prefixes", postgresql_using="gin"),)

    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # "book" | "author"
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    popularity: Mapped[int] = mapped_column(BigInteger)
    prefixes: Mapped[str] = mapped_column(TSVECTOR)

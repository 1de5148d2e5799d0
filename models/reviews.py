"""Reviews of books by shoppers, their helpful votes, and the recommendation neighbours."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    SmallInteger,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.db import Base, TimestampMixin, new_id


class Review(TimestampMixin, Base):
    __tablename__ = "reviews"
    __table_args__ = (
        UniqueConstraint("book_id", "user_id", name="one_per_user"),
        CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),
        # Keyset pages of a book's visible reviews, one index per sort.
        Index(
            "ix_reviews_book_newest",
            "book_id",
            text("created_at DESC"),
            text("id DESC"),
            postgresql_where=text("hidden_at IS NULL"),
        ),
        Index(
            "ix_reviews_book_helpful",
            "book_id",
            text("helpful_count DESC"),
            text("created_at DESC"),
            text("id DESC"),
            postgresql_where=text("hidden_at IS NULL"),
        ),
        Index(
            "ix_reviews_book_rating",
            "book_id",
            text("rating DESC"),
            text("created_at DESC"),
            text("id DESC"),
            postgresql_where=text("hidden_at IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    book_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("books.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    rating: Mapped[int] = mapped_column(SmallInteger)
    title: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    verified_purchase: Mapped[bool] = mapped_column(default=False, server_default="false")
    helpful_count: Mapped[int] = mapped_column(default=0, server_default="0")
    hidden_at: Mapped[datetime | None]
    hidden_reason: Mapped[str | None] = mapped_column(Text)


class ReviewVote(Base):
    """One "helpful" vote per user and review."""

    __tablename__ = "review_votes"

    review_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("reviews.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class BookNeighbour(Base):
    """ "Readers who liked this also liked": the top neighbours of a book, by similarity.

    A build writes a new ``generation`` and then makes it current in one transaction
    (``recommendation_builds``), so readers never see a half-written set."""

    __tablename__ = "book_neighbours"

    generation: Mapped[int] = mapped_column(primary_key=True)
    # No foreign keys: a build writes hundreds of thousands of rows at once, and checking
    # two keys per row would triple its time. Books are archived, never deleted, and every
    # reader joins books (active ones only) anyway.
    book_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    rank: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    neighbour_id: Mapped[uuid.UUID]
    score: Mapped[float] = mapped_column(Float)


class RecommendationBuild(Base):
    """One build of the neighbour table; the newest ``current`` one is served."""

    __tablename__ = "recommendation_builds"
    __table_args__ = (
        Index(
            "ix_recommendation_builds_one_current",
            "current",
            unique=True,
            postgresql_where=text("current"),
        ),
    )

    generation: Mapped[int] = mapped_column(primary_key=True)
    current: Mapped[bool] = mapped_column(default=False, server_default="false")
    started_at: Mapped[datetime] = mapped_column(server_default=func.now())
    finished_at: Mapped[datetime | None]
    books: Mapped[int] = mapped_column(default=0, server_default="0")
    pairs: Mapped[int] = mapped_column(default=0, server_default="0")
    seconds: Mapped[float | None] = mapped_column(Float)

"""Writing and reading reviews: one per shopper and book, a verified-purchase flag decided
from their orders, helpful votes, and keyset pages in three sorts.

Every change records a ``rating_summary`` outbox message: the caller commits, then sends it
(the book's rating summary is recomputed by a task, never in the request)."""

from __future__ import annotations

import unicodedata
import uuid
from dataclasses import dataclass

from sqlalchemy import Select, exists, func, select, update
from sqlalchemy.dialects.postgresql import insert

from models import Book, BookStatus, Order, OrderLine, Review, ReviewVote, User, db
from services import outbox
from services.errors import Conflict, Forbidden, InvalidInput, NotFound
from services.orders.placement import CONFIRMED_OR_LATER
from services.pagination import SortKey, SortOrder, datetime_key, int_key, page_after, uuid_key
from services.recommendations import cache as recommendation_cache

RATING_SUMMARY = "rating_summary"
MAX_BODY = 10_000
MAX_TITLE = 200
# Line breaks and tabs are text; every other control character is refused.
ALLOWED_CONTROLS = frozenset("\n\r\t")


_CREATED = SortKey(Review.created_at, descending=True, parse=datetime_key)
_ID = SortKey(Review.id, descending=True, parse=uuid_key)
REVIEW_SORTS: dict[str, SortOrder] = {
    "newest": SortOrder((_CREATED, _ID)),
    "helpful": SortOrder((SortKey(Review.helpful_count, descending=True), _CREATED, _ID)),
    "rating": SortOrder((SortKey(Review.rating, descending=True, parse=int_key), _CREATED, _ID)),
}


class ReviewExists(Conflict):
    """You already reviewed this book; change it with PATCH /books/{id}/reviews/mine."""

    error = "review_exists"


class ReviewNotFound(NotFound):
    """No such review."""

    error = "review_not_found"


class AlreadyVoted(Conflict):
    """You already found this review helpful."""

    error = "already_voted"


class OwnReview(Forbidden):
    """You cannot vote for your own review."""

    error = "own_review"


@dataclass(frozen=True)
class Page:
    items: list[dict]
    next_cursor: str | None


def check_text(field: str, value: str | None, limit: int, required: bool) -> str | None:
    """Plain text as sent: length-checked, without control characters other than line breaks
    and tabs. Raises InvalidInput naming the field."""
    if value is None or (not required and value == ""):
        if required:
            raise InvalidInput(f"{field} is required.", **{field: ["Missing data."]})
        return None
    if required and not value.strip():
        raise InvalidInput(f"{field} must not be blank.", **{field: ["Must not be blank."]})
    if len(value) > limit:
        raise InvalidInput(
            f"{field} is longer than {limit} characters.", **{field: [f"At most {limit}."]}
        )
    if any(unicodedata.category(c) == "Cc" and c not in ALLOWED_CONTROLS for c in value):
        raise InvalidInput(
            f"{field} contains control characters.", **{field: ["No control characters."]}
        )
    return value


def check_rating(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        raise InvalidInput("rating must be a whole number from 1 to 5.", rating=["1 to 5."])
    return value


def has_bought(user_id: uuid.UUID, book_id: uuid.UUID) -> bool:
    """Whether the user has a confirmed (or later) order containing the book."""
    return bool(
        db.session.scalar(
            select(
                exists()
                .where(OrderLine.order_id == Order.id)
                .where(Order.user_id == user_id, OrderLine.book_id == book_id)
                .where(Order.status.in_(CONFIRMED_OR_LATER))
            )
        )
    )


def reverify_for_order(order: Order) -> None:
    """After ``order`` left confirmed-or-later (cancelled, refunded): its buyer's reviews of
    its books keep ``verified_purchase`` only if another such order backs them. In the
    caller's transaction."""
    book_ids = [line.book_id for line in order.lines]
    if not book_ids:
        return
    db.session.flush()
    for review in db.session.scalars(
        select(Review).where(
            Review.user_id == order.user_id,
            Review.book_id.in_(book_ids),
            Review.verified_purchase.is_(True),
        )
    ):
        review.verified_purchase = has_bought(order.user_id, review.book_id)


def _active_book(book_id: uuid.UUID) -> Book:
    book = db.session.get(Book, book_id)
    if book is None or book.status != BookStatus.ACTIVE:
        raise NotFound("No book with this id.")
    return book


def _summary_changed(book_id: uuid.UUID) -> int:
    message = outbox.record(RATING_SUMMARY, {"book_id": str(book_id)})
    db.session.flush()
    return message.id


def create(
    user: User, book_id: uuid.UUID, rating, body: str, title: str | None = None
) -> tuple[Review, list[int]]:
    """Add the user's review of an active book. Commits; returns it and the outbox ids."""
    rating = check_rating(rating)
    body = check_text("body", body, MAX_BODY, required=True)
    title = check_text("title", title, MAX_TITLE, required=False)
    _active_book(book_id)
    inserted = db.session.execute(
        insert(Review)
        .values(
            id=uuid.uuid4(),
            book_id=book_id,
            user_id=user.id,
            rating=rating,
            title=title,
            body=body,
            verified_purchase=has_bought(user.id, book_id),
            # The statement's time, not the transaction's: "newest" is the order of writing.
            created_at=func.clock_timestamp(),
            updated_at=func.clock_timestamp(),
        )
        .on_conflict_do_nothing(constraint="one_per_user")
        .returning(Review.id)
    ).scalar()
    if inserted is None:
        db.session.rollback()
        raise ReviewExists()
    outbox_ids = [_summary_changed(book_id)]
    db.session.commit()
    recommendation_cache.user_changed(user.id)
    return db.session.get(Review, inserted), outbox_ids


def _mine(user: User, book_id: uuid.UUID) -> Review:
    review = db.session.scalars(
        select(Review).where(Review.book_id == book_id, Review.user_id == user.id).with_for_update()
    ).first()
    if review is None:
        raise ReviewNotFound("You have not reviewed this book.")
    return review


def update_mine(user: User, book_id: uuid.UUID, changes: dict) -> tuple[Review, list[int]]:
    """Change the user's review (any of rating, title, body). Commits."""
    review = _mine(user, book_id)
    if "rating" in changes:
        review.rating = check_rating(changes["rating"])
    if "body" in changes:
        review.body = check_text("body", changes["body"], MAX_BODY, required=True)
    if "title" in changes:
        review.title = check_text("title", changes["title"], MAX_TITLE, required=False)
    review.verified_purchase = has_bought(user.id, book_id)
    outbox_ids = [_summary_changed(book_id)]
    db.session.commit()
    recommendation_cache.user_changed(user.id)
    db.session.refresh(review)
    return review, outbox_ids


def delete_mine(user: User, book_id: uuid.UUID) -> list[int]:
    """Withdraw the user's review. Commits; returns the outbox ids."""
    db.session.delete(_mine(user, book_id))
    outbox_ids = [_summary_changed(book_id)]
    db.session.commit()
    recommendation_cache.user_changed(user.id)
    return outbox_ids


def vote_helpful(user: User, review_id: uuid.UUID) -> Review:
    """Count the user's "helpful" vote, once, never on their own review. Commits."""
    review = db.session.get(Review, review_id)
    if review is None or review.hidden_at is not None:
        raise ReviewNotFound()
    if review.user_id == user.id:
        raise OwnReview()
    voted = db.session.execute(
        insert(ReviewVote)
        .values(review_id=review_id, user_id=user.id)
        .on_conflict_do_nothing()
        .returning(ReviewVote.review_id)
    ).scalar()
    if voted is None:
        db.session.rollback()
        raise AlreadyVoted()
    db.session.execute(
        update(Review)
        .where(Review.id == review_id)
        .values(helpful_count=Review.helpful_count + 1, updated_at=Review.updated_at)
    )
    db.session.commit()
    db.session.refresh(review)
    return review


def list_for_book(book_id: uuid.UUID, sort: str, limit: int, cursor: str | None) -> Page:
    """One page of the book's visible reviews in ``sort`` order."""
    order = REVIEW_SORTS.get(sort)
    if order is None:
        raise InvalidInput(f"Unknown sort {sort!r}; use one of {', '.join(REVIEW_SORTS)}.")
    _active_book(book_id)
    page = page_after(
        _visible(book_id), order, f"reviews.{sort}", limit, cursor, entity=lambda row: row[0]
    )
    return Page([view(review, name) for review, name in page.items], page.next_cursor)


def _visible(book_id: uuid.UUID) -> Select:
    return (
        select(Review, User.name)
        .join(User, User.id == Review.user_id)
        .where(Review.book_id == book_id, Review.hidden_at.is_(None))
    )


def public_name(name: str) -> str:
    """What other shoppers see of a reviewer's name: "Ada L." for "Ada Lovelace"."""
    parts = name.split()
    if not parts:
        return "A reader"
    return parts[0] if len(parts) == 1 else f"{parts[0]} {parts[-1][0]}."


def view(review: Review, display_name: str | None = None) -> dict:
    if display_name is None:
        display_name = db.session.scalar(select(User.name).where(User.id == review.user_id))
    return {
        "id": review.id,
        "book_id": review.book_id,
        "user": {"id": review.user_id, "display_name": public_name(display_name)},
        "rating": review.rating,
        "title": review.title,
        "body": review.body,
        "verified_purchase": review.verified_purchase,
        "helpful_count": review.helpful_count,
        "created_at": review.created_at,
        "updated_at": review.updated_at,
    }

"""Staff moderation of reviews: hide (with a reason) and unhide, audited, the author told."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select

from models import Book, Review, User, db
from services.notifications import events as notifications
from services.ops import audit
from services.reviews.reviews import ReviewNotFound, _summary_changed


def _locked(review_id: uuid.UUID) -> Review:
    review = db.session.scalars(
        select(Review).where(Review.id == review_id).with_for_update()
    ).first()
    if review is None:
        raise ReviewNotFound()
    return review


def _snapshot(review: Review) -> dict:
    return {
        "hidden": review.hidden_at is not None,
        "hidden_reason": review.hidden_reason,
    }


def set_hidden(
    actor_id: uuid.UUID, review_id: uuid.UUID, hidden: bool, reason: str | None = None
) -> tuple[Review, list[uuid.UUID], list[int]]:
    """Hide or unhide a review. Idempotent (no audit row, notification or recompute when nothing
    changes). The author is told through the notifications dispatcher. Commits; returns the
    review, the e-mail ids to enqueue (none any more) and the outbox ids to send."""
    review = _locked(review_id)
    if (review.hidden_at is not None) == hidden:
        db.session.commit()
        return review, [], []
    before = _snapshot(review)
    now = datetime.now(UTC)
    review.hidden_at = now if hidden else None
    review.hidden_reason = reason if hidden else None
    audit.record(
        actor_id, "hide" if hidden else "unhide", "review", review.id, before, _snapshot(review)
    )
    author = db.session.get(User, review.user_id)
    title = db.session.scalar(select(Book.title).where(Book.id == review.book_id))
    event = "review_hidden" if hidden else "review_restored"
    told = notifications.notify(
        event,
        author.id,
        {"book_id": str(review.book_id), "book_title": title, "reason": reason or ""},
        f"review:{review.id}:{event}:{now.isoformat()}",
    )
    outbox_ids = [_summary_changed(review.book_id), *([told] if told is not None else [])]
    db.session.commit()
    return review, [], outbox_ids

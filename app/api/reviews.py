"""Reviews: a book's reviews (public list, one per shopper), helpful votes, staff moderation."""

from __future__ import annotations

import uuid

from flask import current_app
from flask.views import MethodView
from marshmallow import fields, validate

from app.api.base import Blueprint, Schema, contract
from app.api.catalog_schemas import PageArgs
from app.auth import login_required, require_user, staff_required
from app.extensions import limiter
from services.reviews import moderation
from services.reviews import reviews as reviews_service
from tasks.chains import send_recorded
from tasks.email import enqueue as enqueue_emails

blp = Blueprint("reviews", __name__, description="Book reviews and helpful votes.")

RATE_LIMITED = "Too many review changes; wait a little and try again."


def _review_writer() -> str:
    """Rate-limit key: the logged-in user (the view answers 401 to anyone else)."""
    user = require_user()
    return f"review-writes:{user.id}"


review_write_limit = limiter.limit(
    lambda: current_app.config["RATE_LIMIT_REVIEW_WRITES"],
    key_func=_review_writer,
    scope="review-writes",
    error_message=RATE_LIMITED,
)


class StrictRating(fields.Integer):
    """An integer 1-5 that refuses 1.5 and "4" (strict), not rounding them."""

    def __init__(self, **kwargs):
        super().__init__(strict=True, validate=validate.Range(min=1, max=5), **kwargs)


class ReviewInSchema(Schema):
    rating = StrictRating(required=True)
    title = fields.String(allow_none=True, validate=validate.Length(max=reviews_service.MAX_TITLE))
    body = fields.String(
        required=True, validate=validate.Length(min=1, max=reviews_service.MAX_BODY)
    )


class ReviewPatchSchema(Schema):
    rating = StrictRating()
    title = fields.String(allow_none=True, validate=validate.Length(max=reviews_service.MAX_TITLE))
    body = fields.String(validate=validate.Length(min=1, max=reviews_service.MAX_BODY))


class ReviewListArgs(PageArgs):
    sort = fields.String(
        load_default="newest",
        validate=validate.OneOf(list(reviews_service.REVIEW_SORTS)),
        metadata={"description": "newest, helpful or rating."},
    )


class ReviewerSchema(Schema):
    id = fields.UUID()
    display_name = fields.String()


class ReviewSchema(Schema):
    id = fields.UUID()
    book_id = fields.UUID()
    user = fields.Nested(ReviewerSchema)
    rating = fields.Integer()
    title = fields.String(allow_none=True)
    body = fields.String()
    verified_purchase = fields.Boolean()
    helpful_count = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class ReviewPageSchema(Schema):
    items = fields.List(fields.Nested(ReviewSchema))
    next_cursor = fields.String(allow_none=True)


class HideSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class ModeratedReviewSchema(ReviewSchema):
    hidden = fields.Boolean()
    hidden_reason = fields.String(allow_none=True)


def _send(outbox_ids) -> None:
    send_recorded(current_app.extensions["celery"], outbox_ids)


def _moderated(review) -> dict:
    return {
        **reviews_service.view(review),
        "hidden": review.hidden_at is not None,
        "hidden_reason": review.hidden_reason,
    }


@blp.route("/books/<uuid:book_id>/reviews")
class BookReviews(MethodView):
    @blp.arguments(ReviewListArgs, location="query")
    @blp.response(200, ReviewPageSchema)
    @blp.alt_response(404, description="`not_found`: no active book with this id.")
    def get(self, args, book_id: uuid.UUID):
        """A book's visible reviews, newest, most helpful or best rated first."""
        return reviews_service.list_for_book(book_id, args["sort"], args["limit"], args["cursor"])

    @login_required
    @review_write_limit
    @blp.arguments(ReviewInSchema)
    @blp.response(201, ReviewSchema)
    @blp.alt_response(409, description="`review_exists`: one review per shopper and book.")
    @blp.alt_response(422, description="`validation_error`: rating, title or body.")
    @blp.alt_response(429, description="`rate_limited`")
    def post(self, body, book_id: uuid.UUID):
        """Review a book (logged in; verified_purchase when you bought it)."""
        review, outbox_ids = reviews_service.create(
            require_user(), book_id, body["rating"], body["body"], body.get("title")
        )
        _send(outbox_ids)
        return reviews_service.view(review)


@blp.route("/books/<uuid:book_id>/reviews/mine")
class MyReview(MethodView):
    decorators = [review_write_limit, login_required]

    @contract(reviews_service.ReviewNotFound, "rate_limited")
    @blp.arguments(ReviewPatchSchema)
    @blp.response(200, ReviewSchema)
    @blp.alt_response(404, description="`review_not_found`: you have not reviewed this book.")
    def patch(self, body, book_id: uuid.UUID):
        """Change your review of this book."""
        review, outbox_ids = reviews_service.update_mine(require_user(), book_id, body)
        _send(outbox_ids)
        return reviews_service.view(review)

    @contract(reviews_service.ReviewNotFound, "rate_limited")
    @blp.response(204)
    @blp.alt_response(404, description="`review_not_found`: you have not reviewed this book.")
    def delete(self, book_id: uuid.UUID):
        """Withdraw your review of this book."""
        _send(reviews_service.delete_mine(require_user(), book_id))


@blp.route("/reviews/<uuid:review_id>/helpful")
class HelpfulVote(MethodView):
    @login_required
    @contract(
        reviews_service.ReviewNotFound, reviews_service.OwnReview, reviews_service.AlreadyVoted
    )
    @blp.response(200, ReviewSchema)
    @blp.alt_response(404, description="`review_not_found`: no visible review with this id.")
    def post(self, review_id: uuid.UUID):
        """Mark a review as helpful (once per shopper; not your own)."""
        return reviews_service.view(reviews_service.vote_helpful(require_user(), review_id))


def _moderate(review_id: uuid.UUID, hidden: bool, reason: str | None) -> dict:
    review, notification_ids, outbox_ids = moderation.set_hidden(
        require_user().id, review_id, hidden, reason
    )
    enqueue_emails(notification_ids)
    _send(outbox_ids)
    return _moderated(review)


@blp.route("/reviews/<uuid:review_id>/hide")
class HideReview(MethodView):
    decorators = [staff_required]

    @blp.arguments(HideSchema)
    @blp.response(200, ModeratedReviewSchema)
    @blp.alt_response(404, description="`review_not_found`")
    def post(self, body, review_id: uuid.UUID):
        """Hide a review from lists and summaries (staff; audited; the author is told)."""
        return _moderate(review_id, True, body["reason"])


@blp.route("/reviews/<uuid:review_id>/unhide")
class UnhideReview(MethodView):
    decorators = [staff_required]

    @blp.response(200, ModeratedReviewSchema)
    @blp.alt_response(404, description="`review_not_found`")
    def post(self, review_id: uuid.UUID):
        """Show a hidden review again (staff; audited; the author is told)."""
        return _moderate(review_id, False, None)

"""Recommendations: a book's "readers also liked", a shopper's picks, and what goes with a cart."""

from __future__ import annotations

import uuid

from flask import current_app, request
from flask.views import MethodView
from marshmallow import fields, validate

from app.api.base import Blueprint, Schema, contract
from app.api.cart import CART_TOKEN_HEADER
from app.api.catalog_http import catalog_response
from app.api.catalog_schemas import BookSchema
from app.auth import current_user, login_optional, login_required, require_user
from models import db
from services.accounts.tokens import InvalidToken
from services.orders import cart as carts
from services.recommendations import cache as recommendation_cache
from services.recommendations import reads as recommendations

blp = Blueprint("recommendations", __name__, description="Recommended books.")

DEFAULT_LIMIT = 10
MAX_LIMIT = 50


class RecommendationArgs(Schema):
    limit = fields.Integer(
        load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=MAX_LIMIT)
    )


class RecommendationsSchema(Schema):
    items = fields.List(fields.Nested(BookSchema))
    strategy = fields.String(
        metadata={"description": "item_item, genre_bestsellers or bestsellers."}
    )


@blp.route("/books/<uuid:book_id>/recommendations")
class BookRecommendations(MethodView):
    @blp.arguments(RecommendationArgs, location="query")
    @blp.response(200, RecommendationsSchema)
    @blp.alt_response(404, description="`not_found`: no active book with this id.")
    def get(self, args, book_id: uuid.UUID):
        """Readers who liked this book also liked (never the book itself; in stock first)."""
        versions = recommendation_cache.versions()
        return catalog_response(
            "book-recommendations",
            {"id": book_id, "limit": args["limit"], **(versions or {})},
            lambda: RecommendationsSchema().dump(recommendations.for_book(book_id, args["limit"])),
            timeout=_timeout(),
            cached=_cached(versions),
        )


@blp.route("/me/recommendations")
class MyRecommendations(MethodView):
    @login_required
    @blp.arguments(RecommendationArgs, location="query")
    @blp.response(200, RecommendationsSchema)
    def get(self, args):
        """Personal picks from your purchases, good reviews and cart (never what you bought)."""
        user_id = require_user().id
        # The cart's books are seeds, so they are part of the key; orders and reviews bump
        # the shopper's version (services/recommendations/cache.py).
        versions = recommendation_cache.versions(user_id)
        params = {
            "user": user_id,
            "limit": args["limit"],
            "cart": sorted(map(str, recommendations.cart_books(user_id))),
            **(versions or {}),
        }
        return catalog_response(
            "me-recommendations",
            params,
            lambda: RecommendationsSchema().dump(recommendations.for_user(user_id, args["limit"])),
            timeout=_timeout(),
            cached=_cached(versions),
        )


@blp.route("/cart/recommendations")
class CartRecommendations(MethodView):
    @login_optional
    @contract(InvalidToken, request_headers=[CART_TOKEN_HEADER])
    @blp.arguments(RecommendationArgs, location="query")
    @blp.response(200, RecommendationsSchema)
    def get(self, args):
        """Books often bought together with what is in your cart (guests: X-Cart-Token)."""
        user = current_user()
        handle = carts.find_cart(user.id if user else None, request.headers.get(CART_TOKEN_HEADER))
        db.session.commit()  # a guest cart merged into the user's is kept
        book_ids = [item.book_id for item in handle.cart.items] if handle.cart else []
        # Keyed by the cart's books, not by the cart: carts with the same books share it.
        versions = recommendation_cache.versions()
        return catalog_response(
            "cart-recommendations",
            {"cart": sorted(map(str, book_ids)), "limit": args["limit"], **(versions or {})},
            lambda: RecommendationsSchema().dump(recommendations.for_cart(book_ids, args["limit"])),
            timeout=_timeout(),
            cached=_cached(versions),
        )


def _cached(versions: dict | None) -> bool:
    """Cached unless switched off, or unless the versions could not be read (the key would
    not say which build or which of the shopper's changes the answer reflects)."""
    return current_app.config["RECOMMENDATIONS_CACHE"] and versions is not None


def _timeout() -> int:
    return current_app.config["RECOMMENDATIONS_CACHE_SECONDS"]

"""Recommendations: a book's "readers also liked", a shopper's picks, and what goes with a cart."""

from __future__ import annotations

import uuid

from flask import request
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
from services.recommendations import reads as recommendations
from services.recommendations.build import current_generation

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
        params = {"id": book_id, "limit": args["limit"], "generation": current_generation()}
        return catalog_response(
            "book-recommendations",
            params,
            lambda: RecommendationsSchema().dump(recommendations.for_book(book_id, args["limit"])),
        )


@blp.route("/me/recommendations")
class MyRecommendations(MethodView):
    @login_required
    @blp.arguments(RecommendationArgs, location="query")
    @blp.response(200, RecommendationsSchema)
    def get(self, args):
        """Personal picks from your purchases, good reviews and cart (never what you bought)."""
        return recommendations.for_user(require_user().id, args["limit"])


@blp.route("/cart/recommendations")
class CartRecommendations(MethodView):
    @login_optional
    @contract(InvalidToken, request_headers=["X-Cart-Token"])
    @blp.arguments(RecommendationArgs, location="query")
    @blp.response(200, RecommendationsSchema)
    def get(self, args):
        """Books often bought together with what is in your cart (guests: X-Cart-Token)."""
        user = current_user()
        handle = carts.find_cart(user.id if user else None, request.headers.get(CART_TOKEN_HEADER))
        db.session.commit()  # a guest cart merged into the user's is kept
        book_ids = [item.book_id for item in handle.cart.items] if handle.cart else []
        return recommendations.for_cart(book_ids, args["limit"])

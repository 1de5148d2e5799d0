"""The shopper's cart (a guest's is addressed by the X-Cart-Token header)."""

from __future__ import annotations

import uuid

import marshmallow as ma
from flask import request
from flask.views import MethodView

from app.api import examples
from app.api.base import Blueprint, Schema, contract
from app.api.fields import Int
from app.auth import current_user, login_optional
from models import db
from services.accounts.tokens import InvalidToken
from services.orders import cart as carts

blp = Blueprint("cart", __name__, description="Shopping cart")

CART_TOKEN_HEADER = "X-Cart-Token"
# Every cart operation reads the guest token and may hand out a new one.
CART_HEADERS = {
    "request_headers": [CART_TOKEN_HEADER],
    "response_headers": {200: [CART_TOKEN_HEADER]},
}


class CartItemSchema(Schema):
    book_id = ma.fields.UUID()
    title = ma.fields.String()
    quantity = ma.fields.Integer()
    unit_price_cents = ma.fields.Integer()
    line_total_cents = ma.fields.Integer()
    available = ma.fields.Integer()


class CartProblemSchema(Schema):
    book_id = ma.fields.UUID()
    error = ma.fields.String(
        metadata={"enum": ["insufficient_stock", "book_unavailable"], "description": "Why."}
    )
    available = ma.fields.Integer(metadata={"description": "Copies that can be ordered now."})


class CartSchema(Schema):
    id = ma.fields.UUID(allow_none=True)
    items = ma.fields.List(ma.fields.Nested(CartItemSchema))
    subtotal_cents = ma.fields.Integer()
    currency = ma.fields.String()
    expires_at = ma.fields.DateTime(allow_none=True)
    locked = ma.fields.Boolean()
    problems = ma.fields.List(
        ma.fields.Nested(CartProblemSchema),
        metadata={
            "description": "Lines that cannot be ordered as they stand (empty when all can)."
        },
    )


class AddItemSchema(Schema):
    book_id = ma.fields.UUID(required=True)
    quantity = Int(load_default=1)


class ChangeItemSchema(Schema):
    quantity = Int(required=True)


def _caller_id() -> uuid.UUID | None:
    user = current_user()
    return user.id if user else None


def _guest_token() -> str | None:
    return request.headers.get(CART_TOKEN_HEADER) or None


def _answer(handle: carts.CartHandle) -> tuple:
    body = carts.cart_view(handle.cart)
    headers = {CART_TOKEN_HEADER: handle.new_token} if handle.new_token else {}
    return body, 200, headers


def _change(operation, *args) -> tuple:
    """Run one change on the caller's cart (created on first use) and commit."""
    handle = carts.open_cart(_caller_id(), _guest_token())
    operation(handle.cart, *args)
    db.session.commit()
    return _answer(handle)


@blp.route("/cart")
class CartResource(MethodView):
    @login_optional
    @contract(InvalidToken, **CART_HEADERS)
    @blp.response(200, CartSchema, example=examples.CART)
    def get(self):
        """The caller's cart, with current prices and availability."""
        handle = carts.find_cart(_caller_id(), _guest_token())
        db.session.commit()  # a guest cart merged into the user's is kept
        return _answer(handle)

    @login_optional
    @contract(
        InvalidToken,
        carts.CartLocked,
        request_headers=["X-Cart-Token"],
        response_headers={200: ["X-Cart-Token"]},
    )
    @blp.response(200, CartSchema)
    def delete(self):
        """Empty the cart."""
        return _change(carts.clear)


@blp.route("/cart/items")
class CartItems(MethodView):
    @login_optional
    @contract(
        InvalidToken,
        carts.CartLocked,
        carts.QuantityOutOfRange,
        carts.BookNotFound,
        carts.BookUnavailable,
        carts.NotEnoughInStock,
        request_headers=["X-Cart-Token"],
        response_headers={200: ["X-Cart-Token"]},
    )
    @blp.arguments(AddItemSchema, example=examples.ADD_TO_CART)
    @blp.response(200, CartSchema, example=examples.CART)
    def post(self, body):
        """Add copies of a book (quantities add up; at most 50 per book)."""
        return _change(carts.add_item, body["book_id"], body["quantity"])


@blp.route("/cart/items/<uuid:book_id>")
class CartItem(MethodView):
    @login_optional
    @contract(
        InvalidToken,
        carts.CartLocked,
        carts.QuantityOutOfRange,
        carts.CartItemNotFound,
        carts.NotEnoughInStock,
        request_headers=["X-Cart-Token"],
        response_headers={200: ["X-Cart-Token"]},
    )
    @blp.arguments(ChangeItemSchema)
    @blp.response(200, CartSchema)
    def patch(self, body, book_id):
        """Set the quantity of a book in the cart."""
        return _change(carts.set_quantity, book_id, body["quantity"])

    @login_optional
    @contract(
        InvalidToken,
        carts.CartLocked,
        carts.CartItemNotFound,
        request_headers=["X-Cart-Token"],
        response_headers={200: ["X-Cart-Token"]},
    )
    @blp.response(200, CartSchema)
    def delete(self, book_id):
        """Remove a book from the cart."""
        return _change(carts.remove_item, book_id)

"""Checkout: shipping methods, price quotes, and placing the order (202, processed by workers)."""

from __future__ import annotations

import marshmallow as ma
from flask import current_app, request
from flask.views import MethodView
from flask_smorest import Blueprint

from app.api.cart import CART_TOKEN_HEADER
from app.api.orders import OrderSchema
from app.auth import current_user, login_required, require_user
from services.observability import context as log_context
from services.orders import cart as carts
from services.orders import checkout, pricing
from services.orders import lifecycle as orders
from tasks.chains import send_recorded

blp = Blueprint("checkout", __name__, description="Checkout")

COUNTRY = ma.validate.Regexp(r"^[A-Z]{2}$", error="Use an ISO 3166 alpha-2 country code.")


class ShippingAddressSchema(ma.Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(1, 200))
    line1 = ma.fields.String(required=True, validate=ma.validate.Length(1, 200))
    line2 = ma.fields.String(load_default=None, validate=ma.validate.Length(max=200))
    city = ma.fields.String(required=True, validate=ma.validate.Length(1, 100))
    region = ma.fields.String(load_default=None, validate=ma.validate.Length(max=100))
    postal_code = ma.fields.String(required=True, validate=ma.validate.Length(1, 20))
    country = ma.fields.String(required=True, validate=COUNTRY)


class CheckoutSchema(ma.Schema):
    shipping_address = ma.fields.Nested(ShippingAddressSchema, load_default=None)
    address_id = ma.fields.UUID(load_default=None)
    shipping_method = ma.fields.String(
        required=True, validate=ma.validate.OneOf(list(pricing.METHODS))
    )
    promo_code = ma.fields.String(load_default=None, validate=ma.validate.Length(max=64))
    payment_method = ma.fields.String(required=True, validate=ma.validate.Length(1, 255))

    @ma.validates_schema
    def _one_address(self, data, **_):
        if not data.get("shipping_address") and not data.get("address_id"):
            raise ma.ValidationError("Send shipping_address or address_id.", "shipping_address")


class QuoteArgsSchema(CheckoutSchema):
    payment_method = ma.fields.String(load_default=None)


class QuoteSchema(ma.Schema):
    subtotal_cents = ma.fields.Integer()
    discount_cents = ma.fields.Integer()
    shipping_cents = ma.fields.Integer()
    tax_cents = ma.fields.Integer()
    total_cents = ma.fields.Integer()
    currency = ma.fields.String()


class ShippingMethodArgs(ma.Schema):
    country = ma.fields.String(required=True, validate=COUNTRY)


class ShippingMethodSchema(ma.Schema):
    code = ma.fields.String()
    name = ma.fields.String()
    estimated_days = ma.fields.Integer()
    price_cents = ma.fields.Integer()
    free_over_cents = ma.fields.Integer(allow_none=True)
    currency = ma.fields.String()


class ShippingMethodListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(ShippingMethodSchema))


@blp.route("/shipping-methods")
class ShippingMethods(MethodView):
    @blp.arguments(ShippingMethodArgs, location="query")
    @blp.response(200, ShippingMethodListSchema)
    def get(self, args):
        """Shipping methods to a country with their base price (one item)."""
        return {"items": pricing.shipping_methods(args["country"])}


@blp.route("/checkout/quote")
class CheckoutQuote(MethodView):
    @blp.arguments(QuoteArgsSchema)
    @blp.response(200, QuoteSchema)
    def post(self, body):
        """Price the caller's cart: subtotal, discount, shipping, tax and total."""
        user = current_user()
        handle = carts.find_cart(user.id if user else None, request.headers.get(CART_TOKEN_HEADER))
        if user is not None:
            address = checkout.resolve_address(user, body)
        else:
            address = body.get("shipping_address") or {}
            if not address:
                raise checkout.AddressRequired()
        quote = pricing.quote(
            handle.cart,
            address["country"],
            body["shipping_method"],
            body.get("promo_code"),
            user.id if user else None,
        )
        return quote.as_dict()


@blp.route("/checkout")
class Checkout(MethodView):
    @login_required
    @blp.arguments(CheckoutSchema)
    @blp.response(202, OrderSchema)
    def post(self, body):
        """Place the order from your cart; it is processed asynchronously (poll the order)."""
        placement = checkout.place_order(
            require_user(),
            _canonical(body),
            request.headers.get("Idempotency-Key") or None,
            request.headers.get(CART_TOKEN_HEADER) or None,
        )
        log_context.bind(order_id=str(placement.order.id))
        send_recorded(current_app.extensions["celery"], placement.outbox_ids)
        location = f"/api/v1/orders/{placement.order.id}"
        return orders.order_view(placement.order), 202, {"Location": location}


def _canonical(body: dict) -> dict:
    """The request body as stored for the idempotency fingerprint (plain JSON values)."""
    return {
        key: (str(value) if key == "address_id" and value else value) for key, value in body.items()
    }

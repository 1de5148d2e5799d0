"""Checkout: shipping methods, price quotes, and placing the order (202, processed by workers)."""

from __future__ import annotations

import marshmallow as ma
from flask import current_app, request
from flask.views import MethodView

from app.api import examples
from app.api.base import Blueprint, Schema, contract
from app.api.cart import CART_TOKEN_HEADER
from app.api.orders import OrderSchema
from app.auth import current_user, login_optional
from app.extensions import limiter
from models.orders import order_number
from services import payments
from services.accounts.tokens import InvalidToken
from services.observability import context as log_context
from services.orders import cart as carts
from services.orders import checkout, pricing, promotions
from services.orders import lifecycle as orders
from tasks.chains import send_recorded

blp = Blueprint("checkout", __name__, description="Checkout")

COUNTRY = ma.validate.Regexp(r"^[A-Z]{2}$", error="Use an ISO 3166 alpha-2 country code.")


class ShippingAddressSchema(Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(1, 200))
    line1 = ma.fields.String(required=True, validate=ma.validate.Length(1, 200))
    line2 = ma.fields.String(load_default=None, validate=ma.validate.Length(max=200))
    city = ma.fields.String(required=True, validate=ma.validate.Length(1, 100))
    region = ma.fields.String(load_default=None, validate=ma.validate.Length(max=100))
    postal_code = ma.fields.String(required=True, validate=ma.validate.Length(1, 20))
    country = ma.fields.String(required=True, validate=COUNTRY)


class CheckoutSchema(Schema):
    shipping_address = ma.fields.Nested(ShippingAddressSchema, load_default=None)
    address_id = ma.fields.UUID(load_default=None)
    shipping_method = ma.fields.String(
        required=True, validate=ma.validate.OneOf(list(pricing.METHODS))
    )
    promo_code = ma.fields.String(load_default=None, validate=ma.validate.Length(max=64))
    payment_method = ma.fields.String(required=True, validate=ma.validate.Length(1, 255))
    email = ma.fields.Email(
        load_default=None,
        validate=ma.validate.Length(max=320),
        metadata={
            "description": "Required for a guest checkout (no Authorization header): the order "
            "is confirmed to this address. Ignored for an account's order."
        },
    )

    @ma.validates_schema
    def _one_address(self, data, **_):
        if not data.get("shipping_address") and not data.get("address_id"):
            raise ma.ValidationError("Send shipping_address or address_id.", "shipping_address")


class QuoteArgsSchema(CheckoutSchema):
    payment_method = ma.fields.String(load_default=None)


class QuoteSchema(Schema):
    subtotal_cents = ma.fields.Integer()
    discount_cents = ma.fields.Integer()
    shipping_cents = ma.fields.Integer()
    tax_cents = ma.fields.Integer()
    total_cents = ma.fields.Integer()
    currency = ma.fields.String()


class ShippingMethodArgs(Schema):
    country = ma.fields.String(required=True, validate=COUNTRY)


class ShippingMethodSchema(Schema):
    code = ma.fields.String()
    name = ma.fields.String()
    estimated_days = ma.fields.Integer()
    price_cents = ma.fields.Integer()
    free_over_cents = ma.fields.Integer(allow_none=True)
    currency = ma.fields.String()


class ShippingMethodListSchema(Schema):
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
    @login_optional
    @contract(
        InvalidToken,
        checkout.AddressRequired,
        pricing.CartEmpty,
        pricing.CartHasUnavailableBooks,
        pricing.UnknownShippingMethod,
        promotions.PromoCodeInvalid,
        promotions.PromoCodeExhausted,
        request_headers=["X-Cart-Token"],
    )
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


GUEST_RATE_LIMITED = "Too many guest checkouts from this address; wait a little and try again."


def _is_account_request() -> bool:
    return bool(request.headers.get("Authorization"))


def _guest_email_key() -> str:
    """Guest checkouts are limited per e-mail address as well as per client address."""
    body = request.get_json(silent=True)
    email = body.get("email") if isinstance(body, dict) else None
    return f"guest-email:{str(email).strip().lower()}" if email else "guest-email:-"


_guest_limit = limiter.shared_limit(
    lambda: current_app.config["RATE_LIMIT_GUEST_CHECKOUT"],
    scope="guest-checkout-ip",
    exempt_when=_is_account_request,
    error_message=GUEST_RATE_LIMITED,
)
_guest_email_limit = limiter.shared_limit(
    lambda: current_app.config["RATE_LIMIT_GUEST_CHECKOUT"],
    scope="guest-checkout-email",
    key_func=_guest_email_key,
    exempt_when=_is_account_request,
    error_message=GUEST_RATE_LIMITED,
)


@blp.route("/checkout")
class Checkout(MethodView):
    @_guest_limit
    @_guest_email_limit
    @login_optional
    @contract(
        InvalidToken,
        checkout.AddressRequired,
        checkout.EmailRequired,
        checkout.CartTokenRequired,
        checkout.EmailNotVerified,
        checkout.IdempotencyConflict,
        carts.CartLocked,
        pricing.CartEmpty,
        pricing.CartHasUnavailableBooks,
        pricing.UnknownShippingMethod,
        promotions.PromoCodeInvalid,
        promotions.PromoCodeExhausted,
        payments.InvalidPaymentMethod,
        payments.CardDataRefused,
        "rate_limited",
        request_headers=["X-Cart-Token", "Idempotency-Key"],
        response_headers={202: ["Location"]},
    )
    @blp.arguments(CheckoutSchema, example=examples.CHECKOUT)
    @blp.response(202, OrderSchema, example=examples.ORDER)
    def post(self, body):
        """Place the order from your cart (an account's, or a guest's with `email`); it is
        processed asynchronously (poll the order)."""
        user = current_user()
        key = request.headers.get("Idempotency-Key") or None
        token = request.headers.get(CART_TOKEN_HEADER) or None
        canonical = _canonical(body)
        if user is None:
            placement = checkout.place_guest_order(body.get("email"), canonical, key, token)
        else:
            placement = checkout.place_order(
                user,
                canonical,
                key,
                token,
                require_verified_email=current_app.config["REQUIRE_VERIFIED_EMAIL_TO_ORDER"],
            )
        log_context.bind(
            order_id=str(placement.order.id), order_number=order_number(placement.order.number)
        )
        send_recorded(current_app.extensions["celery"], placement.outbox_ids)
        location = f"/api/v1/orders/{placement.order.id}"
        return orders.order_view(placement.order), 202, {"Location": location}


def _canonical(body: dict) -> dict:
    """The request body as stored for the idempotency fingerprint (plain JSON values)."""
    return {
        key: (str(value) if key == "address_id" and value else value) for key, value in body.items()
    }

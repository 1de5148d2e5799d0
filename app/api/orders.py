"""Orders: the shopper's history and detail with its timeline, cancellation, staff shipping."""

from __future__ import annotations

import marshmallow as ma
from flask import current_app, request
from flask.views import MethodView

from app.api import examples
from app.api.base import Blueprint, contract
from app.api.cart import CART_TOKEN_HEADER, Schema
from app.api.fields import Int
from app.auth import current_user, login_optional, login_required, require_user, staff_required
from models.orders import ORDER_STATUSES, StepStatus
from services.accounts.tokens import InvalidToken
from services.orders import guest_access
from services.orders import lifecycle as orders
from services.orders.checkout import PLACEMENT_STEPS
from services.orders.placement import OrderNotFound
from services.payments.base import PAYMENT_STATUSES
from tasks.chains import send_recorded

blp = Blueprint("orders", __name__, description="Orders")


class OrderItemSchema(Schema):
    book_id = ma.fields.UUID()
    title = ma.fields.String()
    quantity = ma.fields.Integer()
    unit_price_cents = ma.fields.Integer()
    line_total_cents = ma.fields.Integer()


class CardSchema(Schema):
    brand = ma.fields.String(allow_none=True)
    last4 = ma.fields.String(allow_none=True)


class PaymentErrorSchema(Schema):
    code = ma.fields.String()
    decline_code = ma.fields.String(allow_none=True)


class PaymentSchema(Schema):
    provider = ma.fields.String(allow_none=True)
    status = ma.fields.String(validate=ma.validate.OneOf(PAYMENT_STATUSES))
    amount_cents = ma.fields.Integer()
    currency = ma.fields.String()
    card = ma.fields.Nested(CardSchema, allow_none=True)
    refunded_cents = ma.fields.Integer()
    # Only while the shopper must act (3-D Secure): what Stripe.js needs.
    client_secret = ma.fields.String()
    next_action = ma.fields.Dict(allow_none=True)
    error = ma.fields.Nested(PaymentErrorSchema)


class StepErrorSchema(Schema):
    error = ma.fields.String()
    message = ma.fields.String()
    details = ma.fields.Dict()


class ShipmentSchema(Schema):
    carrier = ma.fields.String(allow_none=True)
    tracking_number = ma.fields.String(allow_none=True)
    status = ma.fields.String(
        allow_none=True,
        metadata={"enum": ["requested", "shipped", "delivered", None]},
    )
    events = ma.fields.List(ma.fields.Dict())


class TimelineEntrySchema(Schema):
    step = ma.fields.String(metadata={"enum": list(PLACEMENT_STEPS)})
    status = ma.fields.String(metadata={"enum": [s.value for s in StepStatus]})
    attempts = ma.fields.Integer()
    started_at = ma.fields.DateTime(allow_none=True)
    finished_at = ma.fields.DateTime(allow_none=True)
    error = ma.fields.Nested(StepErrorSchema, allow_none=True)


class OrderSchema(Schema):
    id = ma.fields.UUID()
    number = ma.fields.String(
        metadata={"description": "Human-readable order number, `BK-` and six or more digits."}
    )
    status = ma.fields.String(metadata={"enum": list(ORDER_STATUSES)})
    status_reason = ma.fields.String(
        allow_none=True,
        metadata={"description": "Why the order left the happy path, e.g. `insufficient_stock`."},
    )
    items = ma.fields.List(ma.fields.Nested(OrderItemSchema))
    subtotal_cents = ma.fields.Integer(metadata={"description": "In cents of `currency`."})
    discount_cents = ma.fields.Integer(metadata={"description": "In cents of `currency`."})
    shipping_cents = ma.fields.Integer(metadata={"description": "In cents of `currency`."})
    tax_cents = ma.fields.Integer(metadata={"description": "In cents of `currency`."})
    total_cents = ma.fields.Integer(metadata={"description": "In cents of `currency`."})
    currency = ma.fields.String(metadata={"description": "ISO 4217, e.g. `USD`."})
    promo_code = ma.fields.String(allow_none=True)
    shipping_address = ma.fields.Dict()
    shipping_method = ma.fields.String()
    payment = ma.fields.Nested(PaymentSchema)
    shipment = ma.fields.Nested(ShipmentSchema)
    timeline = ma.fields.List(ma.fields.Nested(TimelineEntrySchema))
    payment_deadline = ma.fields.DateTime()
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class OrderPageSchema(Schema):
    items = ma.fields.List(ma.fields.Nested(OrderSchema))
    next_cursor = ma.fields.String(allow_none=True)


class OrderListArgs(Schema):
    limit = Int(minimum=1, maximum=100, load_default=20)
    cursor = ma.fields.String(load_default=None)


class OrderReadArgs(Schema):
    token = ma.fields.String(
        load_default=None,
        validate=ma.validate.Length(1, 512),
        metadata={"description": "A guest's signed order link token (from its e-mails)."},
    )


class ShipSchema(Schema):
    carrier = ma.fields.String(required=True, validate=ma.validate.Length(1, 64))
    tracking_number = ma.fields.String(required=True, validate=ma.validate.Length(1, 128))


def _send(outbox_ids) -> None:
    send_recorded(current_app.extensions["celery"], outbox_ids)


@blp.route("/orders")
class Orders(MethodView):
    @login_required
    @blp.arguments(OrderListArgs, location="query")
    @blp.response(200, OrderPageSchema)
    def get(self, args):
        """Your orders, newest first."""
        page, next_cursor = orders.list_for(require_user().id, args["limit"], args["cursor"])
        return {"items": [orders.order_view(order) for order in page], "next_cursor": next_cursor}


@blp.route("/orders/<uuid:order_id>")
class OrderDetail(MethodView):
    @login_optional
    @contract(InvalidToken, OrderNotFound, "unauthorized", request_headers=["X-Cart-Token"])
    @blp.arguments(OrderReadArgs, location="query")
    @blp.response(200, OrderSchema, example=examples.ORDER)
    def get(self, args, order_id):
        """One order with payment, shipment and processing timeline: yours, or a guest's read
        with the X-Cart-Token it was placed with or the `token` of its e-mailed link."""
        user = current_user()
        if user is not None:
            return orders.order_view(orders.get_for(order_id, user))
        order = guest_access.get_for_guest(
            order_id,
            request.headers.get(CART_TOKEN_HEADER),
            args["token"],
            current_app.config["ORDER_LINK_KEYS"],
        )
        return orders.order_view(order)


@blp.route("/orders/<uuid:order_id>/cancel")
class OrderCancel(MethodView):
    @login_optional
    @contract(
        InvalidToken,
        OrderNotFound,
        orders.OrderNotCancellable,
        orders.OrderShipped,
        "unauthorized",
        request_headers=["Idempotency-Key", "X-Cart-Token"],
    )
    @blp.arguments(OrderReadArgs, location="query")
    @blp.response(200, OrderSchema)
    def post(self, args, order_id):
        """Cancel your order (stock released, payment refunded); 409 once shipped. A guest
        cancels with the X-Cart-Token it checked out with or the `token` of its e-mailed link."""
        key = request.headers.get("Idempotency-Key") or None
        user = current_user()
        if user is not None:
            order, outbox_ids = orders.cancel(order_id, user, key)
        else:
            order, outbox_ids = orders.cancel_as_guest(
                order_id,
                request.headers.get(CART_TOKEN_HEADER),
                args["token"],
                current_app.config["SECRET_KEY"],
                key,
            )
        _send(outbox_ids)
        return orders.order_view(order)


@blp.route("/orders/<uuid:order_id>/ship")
class OrderShip(MethodView):
    @staff_required
    @contract(OrderNotFound, orders.OrderNotShippable)
    @blp.arguments(ShipSchema)
    @blp.response(200, OrderSchema)
    def post(self, body, order_id):
        """Staff: mark a confirmed order shipped with its carrier and tracking number."""
        order, outbox_ids = orders.ship(
            order_id, body["carrier"], body["tracking_number"], actor_id=require_user().id
        )
        _send(outbox_ids)
        return orders.order_view(order)


@blp.route("/orders/<uuid:order_id>/deliver")
class OrderDeliver(MethodView):
    @staff_required
    @contract(OrderNotFound, orders.OrderNotDeliverable)
    @blp.response(200, OrderSchema)
    def post(self, order_id):
        """Staff: mark a shipped order delivered."""
        return orders.order_view(orders.deliver(order_id, actor_id=require_user().id))

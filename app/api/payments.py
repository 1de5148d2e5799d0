"""Order payments: staff refunds and reviews, and the shopper's retry with another card."""

from __future__ import annotations

import contextlib

import marshmallow as ma
from flask import current_app
from flask.views import MethodView
from flask_smorest import abort

from app.api.base import Blueprint, Schema, contract
from app.api.fields import Int
from app.api.orders import OrderSchema
from app.auth import login_required, require_user, staff_required
from models import db
from services.orders import lifecycle as orders
from services.orders.placement import OrderNotFound
from services.orders.promotions import PromoCodeExhausted
from services.payments import (
    CardDataRefused,
    InvalidPaymentMethod,
    PaymentProviderUnavailable,
    refunds,
    retry,
    review,
)
from tasks.chains import send_recorded

blp = Blueprint("payments", __name__, description="Order payments: refunds and retries")


class RefundRequestSchema(Schema):
    amount_cents = Int(minimum=1, load_default=None)
    reason = ma.fields.String(required=True, validate=ma.validate.Length(1, 255))
    restock = ma.fields.Boolean(load_default=False)


class RefundSchema(Schema):
    id = ma.fields.UUID()
    order_id = ma.fields.UUID()
    amount_cents = ma.fields.Integer()
    reason = ma.fields.String()
    restock = ma.fields.Boolean()
    status = ma.fields.String(validate=ma.validate.OneOf(["pending", "succeeded", "failed"]))


class ReviewDecisionSchema(Schema):
    decision = ma.fields.String(required=True, validate=ma.validate.OneOf(review.DECISIONS))
    note = ma.fields.String(load_default=None, validate=ma.validate.Length(max=500))


class PaymentRetrySchema(Schema):
    payment_method = ma.fields.String(required=True, validate=ma.validate.Length(1, 255))


PROVIDER_UNAVAILABLE = (503, "payment_provider_unavailable")
RETRY_AFTER_SECONDS = 30


@contextlib.contextmanager
def _provider_answering():
    """The provider did not answer (timeout, refused, 5xx): a 503 to try again, nothing kept."""
    try:
        yield
    except PaymentProviderUnavailable:
        db.session.rollback()
        abort(
            503,
            message="The payment provider did not answer; try again in a minute.",
            error=PROVIDER_UNAVAILABLE[1],
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )


def _send(outbox_ids) -> None:
    send_recorded(current_app.extensions["celery"], outbox_ids)


@blp.route("/orders/<uuid:order_id>/refunds")
class OrderRefunds(MethodView):
    @staff_required
    @blp.arguments(RefundRequestSchema)
    @blp.response(202, RefundSchema)
    @contract(OrderNotFound, refunds.NotRefundable, refunds.OverRefund)
    def post(self, body, order_id):
        """Staff: refund an order, in full (no amount) or in part; a task makes it."""
        refund, outbox_ids = refunds.request_refund(
            order_id, body["amount_cents"], body["reason"], body["restock"], require_user().id
        )
        _send(outbox_ids)
        return refund


@blp.route("/orders/<uuid:order_id>/payment")
class OrderPaymentRetry(MethodView):
    @login_required
    @blp.arguments(PaymentRetrySchema)
    @blp.response(202, OrderSchema)
    @contract(
        OrderNotFound,
        InvalidPaymentMethod,
        CardDataRefused,
        retry.OrderNotRetryable,
        retry.TooManyPaymentAttempts,
        PromoCodeExhausted,
        PROVIDER_UNAVAILABLE,
        response_headers={503: ["Retry-After"]},
    )
    def post(self, body, order_id):
        """Pay an order awaiting payment, or whose payment failed, again with another card
        (a failed order's stock is held again first, or the order is rejected)."""
        with _provider_answering():
            order, outbox_ids = retry.retry_payment(
                order_id, require_user(), body["payment_method"]
            )
        _send(outbox_ids)
        return orders.order_view(order)


@blp.route("/orders/<uuid:order_id>/review")
class OrderReview(MethodView):
    @staff_required
    @blp.arguments(ReviewDecisionSchema)
    @blp.response(200, OrderSchema)
    @contract(
        OrderNotFound,
        review.OrderNotInReview,
        PROVIDER_UNAVAILABLE,
        response_headers={503: ["Retry-After"]},
    )
    def post(self, body, order_id):
        """Staff: approve (the payment is captured, the order confirmed) or reject (the hold
        is voided, the order cancelled) an order Radar rated risky; audited."""
        with _provider_answering():
            order, outbox_ids = review.decide(
                order_id, body["decision"], require_user().id, body["note"]
            )
        _send(outbox_ids)
        return orders.order_view(order)

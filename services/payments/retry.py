"""Paying again with another card: an order waiting for the shopper (3-D Secure) drops its
pending attempt and runs the payment step with the new PaymentMethod."""

from __future__ import annotations

import uuid

from models import Order, OrderStatus, StepStatus, User, db
from services import outbox, payments
from services.errors import Conflict
from services.orders import lifecycle, placement
from services.payments.base import PaymentStatus


class OrderNotRetryable(Conflict):
    """Only an order awaiting payment can be paid again with another card."""

    error = "order_not_retryable"


def retry_payment(order_id: uuid.UUID, user: User, payment_method: str) -> tuple[Order, list[int]]:
    """Void the waiting attempt, start attempt n+1 with ``payment_method``. Commits."""
    lifecycle.get_for(order_id, user)
    payments.check_payment_method(payment_method)
    order = placement.lock_order(order_id)
    if order.status != OrderStatus.AWAITING_PAYMENT or order.payment is None:
        db.session.rollback()
        raise OrderNotRetryable(f"An order that is {order.status} cannot be paid again.")
    payment = payments.void(order)
    if payment.status != PaymentStatus.VOIDED:
        # The shopper finished authenticating meanwhile: that payment stands.
        db.session.rollback()
        raise OrderNotRetryable("The earlier payment went through; it is being confirmed.")
    payment.attempt += 1
    payment.status = PaymentStatus.PENDING.value
    for name in ("client_secret", "next_action", "error", "decline_code", "error_message"):
        setattr(payment, name, None)
    payment.card_brand = payment.card_last4 = None
    order.payment_method = payment_method
    order.status = OrderStatus.PENDING
    order.status_reason = None
    step = next(step for step in order.steps if step.step == "capture_payment")
    step.status, step.error, step.finished_at = StepStatus.PENDING, None, None
    message = outbox.record(outbox.ORDER_PLACED, {"order_id": str(order.id)})
    db.session.commit()
    return order, [message.id]

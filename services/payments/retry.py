"""Paying again with another card: an order waiting for the shopper (3-D Secure) drops its
pending attempt and runs the payment step again; a ``payment_failed`` order (stock released,
cart unlocked, promotion given back) takes them back and runs the whole placement chain,
whose first step re-reserves the stock (or rejects the order if it is gone)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from models import (
    Cart,
    CartStatus,
    Order,
    OrderStatus,
    PromotionRedemption,
    StepStatus,
    User,
    db,
)
from services import outbox, payments
from services import settings as service_settings
from services.errors import Conflict
from services.inventory import stock as inventory
from services.orders import lifecycle, placement, promotions
from services.orders.promotions import PromoCodeExhausted
from services.payments.base import PaymentStatus

# Cards tried on one order before the shopper has to start a new checkout.
MAX_PAYMENT_ATTEMPTS = 5
RETRYABLE = (OrderStatus.AWAITING_PAYMENT, OrderStatus.PAYMENT_FAILED)


class OrderNotRetryable(Conflict):
    """Only an order awaiting payment, or whose payment failed, can be paid again."""

    error = "order_not_retryable"


class TooManyPaymentAttempts(Conflict):
    """This order was tried with too many cards: check out again."""

    error = "too_many_payment_attempts"


def retry_payment(order_id: uuid.UUID, user: User, payment_method: str) -> tuple[Order, list[int]]:
    """Start attempt n+1 with ``payment_method``. Commits."""
    lifecycle.get_for(order_id, user)
    payments.check_payment_method(payment_method)
    order = _locked_retryable(order_id)
    if order.status == OrderStatus.AWAITING_PAYMENT:
        return _after_waiting(order, payment_method)
    return order, _after_failure(order, payment_method)


def _locked_retryable(order_id: uuid.UUID) -> Order:
    order = placement.lock_order(order_id)
    if order.status not in RETRYABLE or order.payment is None:
        db.session.rollback()
        raise OrderNotRetryable(f"An order that is {order.status} cannot be paid again.")
    if order.payment.attempt >= MAX_PAYMENT_ATTEMPTS:
        db.session.rollback()
        raise TooManyPaymentAttempts()
    return order


def _next_attempt(order: Order, payment_method: str) -> None:
    payment = order.payment
    payment.attempt += 1
    payment.status = PaymentStatus.PENDING.value
    for name in ("client_secret", "next_action", "error", "decline_code", "error_message"):
        setattr(payment, name, None)
    payment.card_brand = payment.card_last4 = None
    order.payment_method = payment_method
    order.status = OrderStatus.PENDING
    order.status_reason = None


def _reopen(order: Order, *names: str) -> None:
    for step in order.steps:
        if step.step in names:
            step.status, step.error, step.finished_at = StepStatus.PENDING, None, None


def _after_waiting(order: Order, payment_method: str) -> tuple[Order, list[int]]:
    """Void the waiting attempt at the provider with no lock held (stock is still held), then
    lock again: if the order still waits on that attempt, the payment step runs again."""
    attempt, ref = order.payment.attempt, order.payment.provider_ref
    db.session.commit()
    voided = None
    if ref is not None:
        voided = payments.provider().void(ref, f"order-{order.id}-void-{attempt}")
    order = _locked_retryable(order.id)
    payment = order.payment
    if order.status != OrderStatus.AWAITING_PAYMENT or payment.attempt != attempt:
        db.session.rollback()
        raise OrderNotRetryable("The order moved on meanwhile; read it again.")
    if voided is not None:
        payments.apply(payment, voided)
    if payment.status != PaymentStatus.CAPTURED:
        payment.status = PaymentStatus.VOIDED.value
    if payment.status != PaymentStatus.VOIDED:
        # The shopper finished authenticating meanwhile: that payment stands.
        db.session.rollback()
        raise OrderNotRetryable("The earlier payment went through; it is being confirmed.")
    _next_attempt(order, payment_method)
    _reopen(order, "capture_payment")
    message = outbox.record(outbox.ORDER_PLACED, {"order_id": str(order.id)})
    db.session.commit()
    return order, [message.id]


def _after_failure(order: Order, payment_method: str) -> list[int]:
    """Take back what the failure gave back (promotion, cart), give the order a new payment
    deadline, reopen every step: the chain re-reserves the stock first."""
    _take_back_promotion(order)
    inventory.forget_released(order.id)
    if order.cart_id is not None:
        db.session.execute(
            update(Cart)
            .where(Cart.id == order.cart_id, Cart.status == CartStatus.OPEN)
            .values(status=CartStatus.LOCKED, updated_at=datetime.now(UTC))
        )
    timeout = service_settings.current().order_payment_timeout_seconds
    order.payment_deadline = datetime.now(UTC) + timedelta(seconds=timeout)
    _next_attempt(order, payment_method)
    _reopen(order, *(step.step for step in order.steps))
    message = outbox.record(outbox.ORDER_PLACED, {"order_id": str(order.id)})
    db.session.commit()
    return [message.id]


def _take_back_promotion(order: Order) -> None:
    """The order's total counts a promotion that the failure returned: redeem it again (the
    same redemption row), or refuse the retry if it has been used up meanwhile."""
    redemption = db.session.scalar(
        select(PromotionRedemption)
        .where(PromotionRedemption.order_id == order.id)
        .with_for_update()
    )
    if redemption is None or redemption.status == "active":
        return
    if not promotions.count_redemption(redemption.promotion_id):
        db.session.rollback()
        raise PromoCodeExhausted("The order's promotion code has been used up meanwhile.")
    redemption.status = "active"

"""Payments of orders through the configured provider (PAYMENT_PROVIDER=dummy|stripe)."""

from __future__ import annotations

import re

from models import Order, Payment, db
from services import settings
from services.errors import InvalidInput
from services.payments.base import PaymentProvider, ProviderResult, ProviderStatus
from services.payments.dummy import DummyProvider

PAYMENT_METHOD_FORMAT = re.compile(r"^pm_[A-Za-z0-9_]{1,200}$")


class InvalidPaymentMethod(InvalidInput):
    """payment_method must be a payment-method id such as 'pm_card_visa'."""

    error = "invalid_payment_method"


class UnknownPaymentProvider(RuntimeError):
    pass


def check_payment_method(payment_method: str) -> None:
    if not PAYMENT_METHOD_FORMAT.match(payment_method or ""):
        raise InvalidPaymentMethod()


def provider() -> PaymentProvider:
    config = settings.current()
    name = config.payment_provider
    if name == "dummy":
        return DummyProvider(slow_seconds=config.payment_dummy_slow_seconds)
    raise UnknownPaymentProvider(f"payment provider {name!r} is not available")


def _apply(payment: Payment, result: ProviderResult) -> Payment:
    payment.status = result.status.value
    payment.provider_ref = result.provider_ref
    payment.client_secret = result.client_secret or payment.client_secret
    payment.error = result.error
    return payment


def charge(order: Order) -> Payment:
    """Authorize and capture the order's total. Idempotent: an order has one payment row
    and a settled one is returned as it is. Does not commit."""
    payment = order.payment or db.session.query(Payment).filter_by(order_id=order.id).first()
    if payment is not None and payment.status != "processing":
        return payment
    gateway = provider()
    if payment is None:
        payment = Payment(
            order_id=order.id,
            provider=gateway.name,
            status="processing",
            amount_cents=order.total_cents,
            currency=order.currency,
        )
        db.session.add(payment)
    result = gateway.authorize(order.id, order.total_cents, order.currency, order.payment_method)
    if result.status == ProviderStatus.AUTHORIZED:
        result = gateway.capture(result.provider_ref, order.total_cents)
    return _apply(payment, result)


def settle_cancelled(order: Order) -> Payment | None:
    """Give the money back (captured) or drop the hold (authorized / awaiting action)."""
    payment = order.payment
    if payment is None or payment.provider_ref is None:
        return payment
    gateway = provider()
    if payment.status == "captured":
        return _apply(payment, gateway.refund(payment.provider_ref, payment.amount_cents))
    if payment.status in ("authorized", "requires_action", "processing"):
        return _apply(payment, gateway.cancel(payment.provider_ref))
    return payment

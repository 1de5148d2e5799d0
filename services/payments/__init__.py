"""Payments of orders through the configured provider (PAYMENT_PROVIDER=dummy|stripe):
authorise at the payment step, capture at confirmation, void or refund when it is undone."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import inspect as sa_inspect

from models import Order, Payment, db
from services import settings as service_settings
from services.errors import InvalidInput
from services.payments.base import (
    Authorization,
    PaymentProvider,
    PaymentProviderUnavailable,
    PaymentStatus,
    ProviderResult,
)
from services.payments.card_data import CardDataRefused, refuse_card_numbers
from services.payments.dummy import DummyProvider
from services.payments.stripe_provider import (
    STRIPE_DEFAULT_API_BASE,
    StripeProvider,
    StripeSettings,
)

__all__ = [
    "CardDataRefused",
    "PaymentProviderUnavailable",
    "PaymentStatus",
    "provider",
]

PAYMENT_METHOD_FORMAT = re.compile(r"^pm_[A-Za-z0-9_]{1,200}$")
# A payment whose money is held or taken: confirming the order may go on.
HELD = (PaymentStatus.AUTHORIZED, PaymentStatus.CAPTURED)


class InvalidPaymentMethod(InvalidInput):
    """payment_method must be a Stripe PaymentMethod id such as 'pm_card_visa'."""

    error = "invalid_payment_method"


class UnknownPaymentProvider(RuntimeError):
    pass


@dataclass(frozen=True)
class PaymentSettings:
    provider: str = "dummy"
    dummy_slow_seconds: float = 3.0
    stripe: StripeSettings | None = None
    webhook_secret: str | None = None
    # A payment unanswered this long is asked about (beat job poll_stuck_payments).
    stuck_after_seconds: float = 300.0


def settings() -> PaymentSettings:
    """This process's payment settings, from the bound service settings."""
    bound = service_settings.current()
    config = bound.config
    stripe_settings = None
    if config.get("STRIPE_API_KEY"):
        stripe_settings = StripeSettings(
            api_key=config["STRIPE_API_KEY"],
            api_base=config.get("STRIPE_API_BASE") or STRIPE_DEFAULT_API_BASE,
            timeout_seconds=float(config.get("STRIPE_TIMEOUT_SECONDS", 10)),
            max_network_retries=int(config.get("STRIPE_MAX_NETWORK_RETRIES", 2)),
        )
    return PaymentSettings(
        provider=bound.payment_provider,
        dummy_slow_seconds=bound.payment_dummy_slow_seconds,
        stripe=stripe_settings,
        webhook_secret=config.get("STRIPE_WEBHOOK_SECRET"),
        stuck_after_seconds=float(config.get("PAYMENT_STUCK_AFTER_SECONDS", 300)),
    )


def provider() -> PaymentProvider:
    config = settings()
    if config.provider == "dummy":
        return DummyProvider(slow_seconds=config.dummy_slow_seconds)
    if config.provider == "stripe":
        if config.stripe is None:
            raise UnknownPaymentProvider("PAYMENT_PROVIDER=stripe needs STRIPE_API_KEY")
        return StripeProvider(config.stripe)
    raise UnknownPaymentProvider(f"payment provider {config.provider!r} is not available")


def check_payment_method(payment_method: str) -> None:
    """At checkout, before an order exists: a card number is refused outright; anything
    that is not a PaymentMethod id this provider takes is invalid."""
    refuse_card_numbers(payment_method or "")
    if not PAYMENT_METHOD_FORMAT.match(payment_method or ""):
        raise InvalidPaymentMethod()
    if not provider().known_payment_method(payment_method):
        raise InvalidPaymentMethod()


def check_checkout(body: Mapping) -> None:
    """A checkout body: no card number anywhere in it, and a payment method we take."""
    refuse_card_numbers(dict(body))
    check_payment_method(body.get("payment_method") or "")


def step_error(error: str, message: str, **details) -> str:
    """A timeline entry's error, as JSON text: ``{error, message, details}``."""
    return json.dumps({"error": error, "message": message, "details": details})


def apply(payment: Payment, result: ProviderResult) -> Payment:
    """Record the provider's answer on our payment row (never the card beyond brand/last4)."""
    payment.status = result.status.value
    payment.provider_ref = result.provider_ref or payment.provider_ref
    payment.client_secret = result.client_secret or payment.client_secret
    payment.next_action = result.next_action
    payment.card_brand = result.card_brand or payment.card_brand
    payment.card_last4 = result.card_last4 or payment.card_last4
    payment.risk_level = result.risk_level or payment.risk_level
    if result.decline is not None:
        payment.error = result.decline.code
        payment.decline_code = result.decline.decline_code
        payment.error_message = result.decline.message[:500]
    return payment


def _payment_of(order: Order) -> Payment | None:
    if "payment" not in sa_inspect(order).unloaded:
        return order.payment  # read with the order's lock (placement.lock_order): no row is none
    return order.payment or db.session.query(Payment).filter_by(order_id=order.id).first()


def prepare_authorization(order: Order) -> Authorization | None:
    """Record the intent to pay (a pending payment row for the current attempt) and return
    what the provider call needs; None when this attempt was already answered. Does not
    commit; the caller commits before calling the provider (no row lock over the network)."""
    payment = _payment_of(order)
    if payment is not None and payment.status != PaymentStatus.PENDING:
        return None
    if payment is None:
        payment = Payment(
            order_id=order.id,
            provider=provider().name,
            status=PaymentStatus.PENDING.value,
            amount_cents=order.total_cents,
            currency=order.currency,
            attempt=1,
            refunded_cents=0,
        )
        db.session.add(payment)
        order.payment = payment
    return Authorization(
        order_id=str(order.id),
        order_number=getattr(order, "number", None),
        attempt=payment.attempt,
        amount_cents=order.total_cents,
        currency=order.currency,
        payment_method=order.payment_method,
    )


def authorize(order: Order) -> Payment:
    """Hold the order's total on its payment method, in one go (record, call, apply).
    Idempotent: a payment whose current attempt was answered is returned as it is."""
    request = prepare_authorization(order)
    if request is None:
        return order.payment
    return apply(order.payment, provider().authorize(request))


def capture(order: Order) -> Payment:
    """Take the held amount (confirmation). Idempotent on the payment's status."""
    payment = order.payment
    if payment.status != PaymentStatus.AUTHORIZED:
        return payment
    key = f"order-{order.id}-capture-{payment.attempt}"
    return apply(payment, provider().capture(payment.provider_ref, payment.amount_cents, key))


def void(order: Order) -> Payment | None:
    """Drop an uncaptured hold (or an attempt still waiting for the shopper)."""
    payment = order.payment
    if payment is None or payment.provider_ref is None:
        return payment
    if payment.status in (PaymentStatus.AUTHORIZED, PaymentStatus.REQUIRES_ACTION):
        key = f"order-{order.id}-void-{payment.attempt}"
        apply(payment, provider().void(payment.provider_ref, key))
        if payment.status != PaymentStatus.CAPTURED:
            payment.status = PaymentStatus.VOIDED.value
    return payment


def settle_cancelled(order: Order) -> Payment | None:
    """Give the money back (captured: full refund) or drop the hold (authorised / waiting)."""
    payment = order.payment
    if payment is None or payment.provider_ref is None:
        return payment
    if payment.status in (PaymentStatus.CAPTURED, PaymentStatus.PARTIALLY_REFUNDED):
        remaining = payment.amount_cents - payment.refunded_cents
        key = f"order-{order.id}-refund-cancel"
        result = provider().refund(payment.provider_ref, remaining, key)
        payment.refunded_cents += result.amount_refunded
        payment.status = (
            PaymentStatus.REFUNDED.value
            if payment.refunded_cents >= payment.amount_cents
            else PaymentStatus.PARTIALLY_REFUNDED.value
        )
        return payment
    return void(order)


def payment_view(order: Order) -> dict:
    """The order body's ``payment``: never anything of the card but brand and last4; the
    client secret only while the shopper has something to do."""
    payment = order.payment
    if payment is None:
        return {
            "provider": settings().provider,
            "status": PaymentStatus.PENDING.value,
            "amount_cents": order.total_cents,
            "currency": order.currency,
            "card": None,
            "refunded_cents": 0,
        }
    view = {
        "provider": payment.provider,
        "status": payment.status,
        "amount_cents": payment.amount_cents,
        "currency": payment.currency,
        "card": (
            {"brand": payment.card_brand, "last4": payment.card_last4}
            if payment.card_last4
            else None
        ),
        "refunded_cents": payment.refunded_cents,
    }
    if payment.status == PaymentStatus.REQUIRES_ACTION:
        view["client_secret"] = payment.client_secret
        view["next_action"] = payment.next_action
    if payment.error:
        view["error"] = {"code": payment.error, "decline_code": payment.decline_code}
    return view


def step_error_view(error: str | None) -> dict | None:
    """A stored step error as ``{error, message, details}`` (older rows held plain text)."""
    if not error:
        return None
    try:
        parsed = json.loads(error)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and "error" in parsed:
        return parsed
    code, _, message = error.partition(": ")
    return {"error": code if message else "error", "message": message or error, "details": {}}

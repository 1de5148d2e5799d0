"""The Stripe adapter: PaymentIntents with manual capture, through the official library.

One ``StripeClient`` per process (built lazily, so a forked worker builds its own), with a
request timeout, the library's network retries, and an idempotency key on every mutation."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

import stripe

from services.payments.base import (
    Authorization,
    Decline,
    PaymentProviderUnavailable,
    PaymentStatus,
    ProviderResult,
)

STRIPE_DEFAULT_API_BASE = "https://api.stripe.com"
PAYMENT_METHOD_ID = "pm_"

# PaymentIntent.status -> ours. "requires_payment_method" after a confirm is a failed attempt.
STATUS = {
    "requires_payment_method": PaymentStatus.FAILED,
    "requires_confirmation": PaymentStatus.PENDING,
    "requires_action": PaymentStatus.REQUIRES_ACTION,
    "processing": PaymentStatus.PENDING,
    "requires_capture": PaymentStatus.AUTHORIZED,
    "succeeded": PaymentStatus.CAPTURED,
    "canceled": PaymentStatus.VOIDED,
}
# The library's own errors that mean "try again later" rather than "no".
TRANSIENT = (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError)


@dataclass(frozen=True)
class StripeSettings:
    api_key: str
    api_base: str = STRIPE_DEFAULT_API_BASE
    timeout_seconds: float = 10.0
    max_network_retries: int = 2


_clients: dict[tuple, stripe.StripeClient] = {}
_clients_lock = threading.Lock()


def client_for(settings: StripeSettings) -> stripe.StripeClient:
    """The process's client for these settings (a forked child builds its own)."""
    key = (os.getpid(), settings)
    with _clients_lock:
        if key not in _clients:
            _clients[key] = stripe.StripeClient(
                settings.api_key,
                base_addresses={"api": settings.api_base},
                max_network_retries=settings.max_network_retries,
                http_client=stripe.RequestsClient(timeout=settings.timeout_seconds),
            )
        return _clients[key]


def _plain(obj):
    """A StripeObject as plain JSON values (the library's objects are not mappings)."""
    return obj.to_dict() if hasattr(obj, "to_dict") else obj


def _field(obj, name: str):
    return obj.get(name) if isinstance(obj, dict) else None


def result_of(stripe_intent) -> ProviderResult:
    intent = _plain(stripe_intent)
    method = _field(intent, "payment_method")
    card = _field(method, "card") if not isinstance(method, str) else None
    error = _field(intent, "last_payment_error")
    decline = None
    if error:
        decline = Decline(
            _field(error, "code") or "card_declined",
            _field(error, "message") or "Your card was declined.",
            _field(error, "decline_code"),
        )
    charge = _field(intent, "latest_charge")
    refunded = _field(charge, "amount_refunded") if not isinstance(charge, str) else None
    outcome = _field(charge, "outcome") if not isinstance(charge, str) else None
    return ProviderResult(
        status=STATUS.get(_field(intent, "status"), PaymentStatus.PENDING),
        provider_ref=_field(intent, "id"),
        client_secret=_field(intent, "client_secret"),
        next_action=_field(intent, "next_action"),
        card_brand=_field(card, "brand"),
        card_last4=_field(card, "last4"),
        decline=decline,
        amount_refunded=refunded or 0,
        metadata=dict(_field(intent, "metadata") or {}),
        amount_cents=_field(intent, "amount"),
        currency=(_field(intent, "currency") or "").upper() or None,
        risk_level=_field(outcome, "risk_level"),
    )


class StripeProvider:
    name = "stripe"

    def __init__(self, settings: StripeSettings) -> None:
        self.settings = settings

    @property
    def _stripe(self) -> stripe.StripeClient:
        return client_for(self.settings)

    def known_payment_method(self, payment_method: str) -> bool:
        # Stripe.js makes real ids; Stripe itself says whether one exists (at authorisation).
        return payment_method.startswith(PAYMENT_METHOD_ID)

    def authorize(self, request: Authorization) -> ProviderResult:
        params = {
            "amount": request.amount_cents,
            "currency": request.currency.lower(),
            "payment_method": request.payment_method,
            "payment_method_types": ["card"],
            "capture_method": "manual",
            "confirm": True,
            "metadata": {"order_id": request.order_id, "order_number": request.order_number or ""},
            "expand": ["payment_method", "latest_charge"],
        }
        try:
            intent = self._stripe.v1.payment_intents.create(
                params=params, options={"idempotency_key": request.idempotency_key}
            )
        except stripe.CardError as exc:
            return self._declined(exc)
        except TRANSIENT as exc:
            raise PaymentProviderUnavailable(f"stripe: {exc}") from exc
        return result_of(intent)

    def _declined(self, exc: stripe.CardError) -> ProviderResult:
        error = _plain(exc.error) or {}
        intent = _field(error, "payment_intent")
        card = _field(_field(error, "payment_method"), "card")
        brand, last4 = _field(card, "brand"), _field(card, "last4")
        return ProviderResult(
            PaymentStatus.FAILED,
            _field(intent, "id") if intent is not None else None,
            card_brand=brand,
            card_last4=last4,
            decline=Decline(
                exc.code or "card_declined",
                exc.user_message or "Your card was declined.",
                _field(error, "decline_code"),
            ),
        )

    def _call(self, method, *args, **kwargs):
        try:
            return method(*args, **kwargs)
        except TRANSIENT as exc:
            raise PaymentProviderUnavailable(f"stripe: {exc}") from exc

    def capture(self, provider_ref: str, amount_cents: int, idempotency_key: str) -> ProviderResult:
        intent = self._call(
            self._stripe.v1.payment_intents.capture,
            provider_ref,
            params={"amount_to_capture": amount_cents, "expand": ["payment_method"]},
            options={"idempotency_key": idempotency_key},
        )
        return result_of(intent)

    def void(self, provider_ref: str, idempotency_key: str) -> ProviderResult:
        current = self.retrieve(provider_ref)
        if current.status in (PaymentStatus.VOIDED, PaymentStatus.CAPTURED):
            return current  # nothing to release (already cancelled, or taken: refund instead)
        intent = self._call(
            self._stripe.v1.payment_intents.cancel,
            provider_ref,
            options={"idempotency_key": idempotency_key},
        )
        return result_of(intent)

    def refund(self, provider_ref: str, amount_cents: int, idempotency_key: str) -> ProviderResult:
        refund = self._call(
            self._stripe.v1.refunds.create,
            params={"payment_intent": provider_ref, "amount": amount_cents},
            options={"idempotency_key": idempotency_key},
        )
        return ProviderResult(
            PaymentStatus.CAPTURED,
            provider_ref,
            amount_refunded=_field(_plain(refund), "amount") or 0,
        )

    def retrieve(self, provider_ref: str) -> ProviderResult:
        intent = self._call(
            self._stripe.v1.payment_intents.retrieve,
            provider_ref,
            params={"expand": ["payment_method", "latest_charge"]},
        )
        return result_of(intent)

    def list_since(self, since_epoch: int) -> list[ProviderResult]:
        """The PaymentIntents created since then, every page (the library paginates)."""
        try:
            try:
                page = self._stripe.v1.payment_intents.list(
                    params={"created": {"gte": since_epoch}, "limit": 100}
                )
            except stripe.InvalidRequestError:
                # localstripe does not filter PaymentIntents by date: list all, filter here.
                page = self._stripe.v1.payment_intents.list(params={"limit": 100})
            intents = [i for i in page.auto_paging_iter() if (i.created or 0) >= since_epoch]
        except TRANSIENT as exc:
            raise PaymentProviderUnavailable(f"stripe: {exc}") from exc
        # A list does not expand the charge: each one's refunds and risk come with a read.
        return [self.retrieve(intent.id) for intent in intents]

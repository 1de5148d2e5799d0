"""The payment provider interface every adapter (dummy, stripe) implements."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Protocol


class PaymentStatus(enum.StrEnum):
    """``payment.status`` in the order body (and the payments table)."""

    PENDING = "pending"
    REQUIRES_ACTION = "requires_action"
    AUTHORIZED = "authorized"
    CAPTURED = "captured"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    VOIDED = "voided"
    FAILED = "failed"


PAYMENT_STATUSES = tuple(status.value for status in PaymentStatus)


class PaymentProviderUnavailable(ConnectionError):
    """The provider did not answer (timeout, connection refused, 5xx, rate limited): retry."""


@dataclass(frozen=True)
class Decline:
    """Why the provider refused: Stripe's error code, decline code and message."""

    code: str
    message: str
    decline_code: str | None = None

    def as_details(self) -> dict:
        return {"code": self.code, "decline_code": self.decline_code}


@dataclass(frozen=True)
class ProviderResult:
    """The provider's view of a payment after a call (a PaymentIntent for Stripe)."""

    status: PaymentStatus
    provider_ref: str | None
    client_secret: str | None = None
    next_action: dict | None = None
    card_brand: str | None = None
    card_last4: str | None = None
    decline: Decline | None = None
    amount_refunded: int = 0
    metadata: dict = field(default_factory=dict)
    # What reconciliation and Radar read (None when the answer did not say).
    amount_cents: int | None = None
    currency: str | None = None
    risk_level: str | None = None


@dataclass(frozen=True)
class Authorization:
    """What an authorisation needs: the order, its attempt number and the money."""

    order_id: str
    order_number: str | None
    attempt: int
    amount_cents: int
    currency: str
    payment_method: str

    @property
    def idempotency_key(self) -> str:
        return f"order-{self.order_id}-authorize-{self.attempt}"


class PaymentProvider(Protocol):
    name: str

    def known_payment_method(self, payment_method: str) -> bool:
        """Whether checkout may accept this PaymentMethod id."""

    def authorize(self, request: Authorization) -> ProviderResult:
        """Hold the amount on the payment method (capture later). Idempotent per key."""

    def capture(self, provider_ref: str, amount_cents: int, idempotency_key: str) -> ProviderResult:
        """Take the held amount."""

    def void(self, provider_ref: str, idempotency_key: str) -> ProviderResult:
        """Release a hold that was not captured."""

    def refund(self, provider_ref: str, amount_cents: int, idempotency_key: str) -> ProviderResult:
        """Give back (part of) captured money."""

    def retrieve(self, provider_ref: str) -> ProviderResult:
        """The payment's current state at the provider."""

    def list_since(self, since_epoch: int) -> list[ProviderResult] | None:
        """Every payment the provider holds created since then (None: it keeps no record)."""

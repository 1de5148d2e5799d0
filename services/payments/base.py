"""The payment provider interface every adapter (dummy, stripe) implements."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from typing import Protocol


class ProviderStatus(enum.StrEnum):
    AUTHORIZED = "authorized"
    CAPTURED = "captured"
    REQUIRES_ACTION = "requires_action"
    DECLINED = "declined"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


@dataclass(frozen=True)
class ProviderResult:
    status: ProviderStatus
    provider_ref: str
    client_secret: str | None = None
    # Stable error id when declined (e.g. "payment_declined").
    error: str | None = None


@dataclass(frozen=True)
class WebhookEvent:
    """A provider notification, reduced to what the order flow needs."""

    event_id: str
    provider_ref: str
    status: ProviderStatus


class PaymentProvider(Protocol):
    name: str

    def authorize(
        self, order_id: uuid.UUID, amount_cents: int, currency: str, payment_method: str
    ) -> ProviderResult:
        """Hold the amount on the payment method. Idempotent per order."""

    def capture(self, provider_ref: str, amount_cents: int) -> ProviderResult:
        """Take the held amount."""

    def cancel(self, provider_ref: str) -> ProviderResult:
        """Release a hold that was not captured."""

    def refund(self, provider_ref: str, amount_cents: int) -> ProviderResult:
        """Give back captured money."""

    def handle_webhook(self, payload: bytes, signature: str | None) -> WebhookEvent | None:
        """Verify and parse an asynchronous confirmation (customer action done, etc.)."""

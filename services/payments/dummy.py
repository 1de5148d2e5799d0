"""The embedded default provider: no network; answers Stripe's test-mode payment-method ids."""

from __future__ import annotations

import time
import uuid

from services.payments.base import ProviderResult, ProviderStatus, WebhookEvent

DECLINED = {"pm_card_chargeDeclined", "pm_card_visa_chargeDeclined", "pm_card_chargeCustomerFail"}
NEEDS_ACTION = {"pm_card_authenticationRequired", "pm_card_threeDSecure2Required"}
# Succeeds after PAYMENT_DUMMY_SLOW_SECONDS: lets tests crash a worker in the middle of a step.
SLOW = "pm_card_visa_slow"


class DummyProvider:
    """Deterministic: the provider reference is derived from the order, so a retried
    authorization of the same order is the same payment."""

    name = "dummy"

    def __init__(self, slow_seconds: float = 3.0) -> None:
        self.slow_seconds = slow_seconds

    @staticmethod
    def _ref(order_id: uuid.UUID) -> str:
        return f"pi_dummy_{order_id.hex}"

    def authorize(
        self, order_id: uuid.UUID, amount_cents: int, currency: str, payment_method: str
    ) -> ProviderResult:
        ref = self._ref(order_id)
        if payment_method in DECLINED:
            return ProviderResult(ProviderStatus.DECLINED, ref, error="payment_declined")
        if payment_method in NEEDS_ACTION:
            return ProviderResult(
                ProviderStatus.REQUIRES_ACTION,
                ref,
                client_secret=f"{ref}_secret_{order_id.hex[:8]}",
            )
        if payment_method == SLOW:
            time.sleep(self.slow_seconds)
        return ProviderResult(ProviderStatus.AUTHORIZED, ref)

    def capture(self, provider_ref: str, amount_cents: int) -> ProviderResult:
        return ProviderResult(ProviderStatus.CAPTURED, provider_ref)

    def cancel(self, provider_ref: str) -> ProviderResult:
        return ProviderResult(ProviderStatus.CANCELLED, provider_ref)

    def refund(self, provider_ref: str, amount_cents: int) -> ProviderResult:
        return ProviderResult(ProviderStatus.REFUNDED, provider_ref)

    def handle_webhook(self, payload: bytes, signature: str | None) -> WebhookEvent | None:
        return None  # the dummy provider sends no webhooks

"""The embedded default provider: no network; it knows Stripe's documented test PaymentMethod
ids (docs.stripe.com/testing) and answers each the way Stripe test mode does."""

from __future__ import annotations

import time
from dataclasses import dataclass

from services.payments.base import Authorization, Decline, PaymentStatus, ProviderResult

DECLINED_MESSAGE = "Your card was declined."


@dataclass(frozen=True)
class TestCard:
    brand: str
    last4: str
    decline: Decline | None = None
    needs_authentication: bool = False
    risk_level: str = "normal"  # Radar's outcome.risk_level of the charge


def _declined(last4: str, decline_code: str, code: str = "card_declined", message=None):
    return TestCard("visa", last4, Decline(code, message or DECLINED_MESSAGE, decline_code))


TEST_PAYMENT_METHODS: dict[str, TestCard] = {
    "pm_card_visa": TestCard("visa", "4242"),
    "pm_card_visa_debit": TestCard("visa", "5556"),
    "pm_card_mastercard": TestCard("mastercard", "4444"),
    "pm_card_mastercard_debit": TestCard("mastercard", "8210"),
    "pm_card_mastercard_prepaid": TestCard("mastercard", "5100"),
    "pm_card_amex": TestCard("amex", "8431"),
    "pm_card_discover": TestCard("discover", "1117"),
    "pm_card_diners": TestCard("diners", "0004"),
    "pm_card_jcb": TestCard("jcb", "0505"),
    "pm_card_unionpay": TestCard("unionpay", "0005"),
    "pm_card_visa_chargeDeclined": _declined("0002", "generic_decline"),
    "pm_card_chargeDeclined": _declined("0002", "generic_decline"),
    "pm_card_chargeCustomerFail": _declined("0341", "generic_decline"),
    "pm_card_visa_chargeDeclinedInsufficientFunds": _declined("9995", "insufficient_funds"),
    "pm_card_chargeDeclinedInsufficientFunds": _declined("9995", "insufficient_funds"),
    "pm_card_chargeDeclinedLostCard": _declined("9987", "lost_card"),
    "pm_card_chargeDeclinedStolenCard": _declined("9979", "stolen_card"),
    "pm_card_chargeDeclinedFraudulent": _declined("0019", "fraudulent"),
    "pm_card_chargeDeclinedVelocityLimitExceeded": _declined("6975", "card_velocity_exceeded"),
    "pm_card_chargeDeclinedExpiredCard": _declined(
        "0069", "expired_card", "expired_card", "Your card has expired."
    ),
    "pm_card_chargeDeclinedIncorrectCvc": _declined(
        "0127", "incorrect_cvc", "incorrect_cvc", "Your card's security code is incorrect."
    ),
    "pm_card_chargeDeclinedProcessingError": _declined(
        "0119",
        "processing_error",
        "processing_error",
        "An error occurred while processing your card. Try again in a little bit.",
    ),
    "pm_card_riskLevelElevated": TestCard("visa", "9235", risk_level="elevated"),
    "pm_card_riskLevelHighest": TestCard("visa", "4954", risk_level="highest"),
    "pm_card_authenticationRequired": TestCard("visa", "3184", needs_authentication=True),
    "pm_card_authenticationRequiredOnSetup": TestCard("visa", "3155", needs_authentication=True),
    "pm_card_threeDSecureRequired": TestCard("visa", "3063", needs_authentication=True),
    "pm_card_threeDSecure2Required": TestCard("visa", "3220", needs_authentication=True),
}
# Not a Stripe id: a visa that answers after PAYMENT_DUMMY_SLOW_SECONDS (lets tests crash a
# worker in the middle of a step, and measure a slow provider).
SLOW = "pm_card_visa_slow"
TEST_PAYMENT_METHODS[SLOW] = TestCard("visa", "4242")


class DummyProvider:
    """Deterministic and stateless: the provider reference is derived from the order and the
    attempt, so a retried authorisation of the same attempt is the same payment."""

    name = "dummy"

    def __init__(self, slow_seconds: float = 3.0) -> None:
        self.slow_seconds = slow_seconds

    def known_payment_method(self, payment_method: str) -> bool:
        return payment_method in TEST_PAYMENT_METHODS

    def authorize(self, request: Authorization) -> ProviderResult:
        ref = f"pi_dummy_{request.order_id.replace('-', '')}_{request.attempt}"
        card = TEST_PAYMENT_METHODS[request.payment_method]
        seen = {"card_brand": card.brand, "card_last4": card.last4}
        if card.decline is not None:
            return ProviderResult(PaymentStatus.FAILED, ref, decline=card.decline, **seen)
        if card.needs_authentication:
            return ProviderResult(
                PaymentStatus.REQUIRES_ACTION,
                ref,
                client_secret=f"{ref}_secret_dummy",
                next_action={"type": "use_stripe_sdk", "use_stripe_sdk": {}},
                **seen,
            )
        if request.payment_method == SLOW:
            time.sleep(self.slow_seconds)
        return ProviderResult(PaymentStatus.AUTHORIZED, ref, risk_level=card.risk_level, **seen)

    def capture(self, provider_ref: str, amount_cents: int, idempotency_key: str) -> ProviderResult:
        return ProviderResult(PaymentStatus.CAPTURED, provider_ref)

    def void(self, provider_ref: str, idempotency_key: str) -> ProviderResult:
        return ProviderResult(PaymentStatus.VOIDED, provider_ref)

    def refund(self, provider_ref: str, amount_cents: int, idempotency_key: str) -> ProviderResult:
        return ProviderResult(PaymentStatus.CAPTURED, provider_ref, amount_refunded=amount_cents)

    def retrieve(self, provider_ref: str) -> ProviderResult:
        return ProviderResult(PaymentStatus.PENDING, provider_ref)

    def list_since(self, since_epoch: int) -> None:
        return None  # stateless: nothing to reconcile against

"""The dummy provider answers Stripe's documented test PaymentMethods as Stripe does."""

from __future__ import annotations

import pytest

from services import payments
from services.payments.base import Authorization, PaymentStatus
from services.payments.card_data import CardDataRefused, looks_like_card_number
from services.payments.dummy import DummyProvider


def _authorize(payment_method: str):
    request = Authorization("6f1c", "BK-000001", 1, 2599, "USD", payment_method)
    return DummyProvider().authorize(request)


@pytest.mark.parametrize(
    ("payment_method", "brand", "last4"),
    [
        ("pm_card_visa", "visa", "4242"),
        ("pm_card_mastercard", "mastercard", "4444"),
        ("pm_card_amex", "amex", "8431"),
    ],
)
def test_the_successful_test_cards_are_authorised_with_their_brand(payment_method, brand, last4):
    result = _authorize(payment_method)

    assert result.status is PaymentStatus.AUTHORIZED
    assert (result.card_brand, result.card_last4) == (brand, last4)
    assert result.provider_ref == "pi_dummy_6f1c_1"


@pytest.mark.parametrize(
    ("payment_method", "code", "decline_code"),
    [
        ("pm_card_visa_chargeDeclined", "card_declined", "generic_decline"),
        ("pm_card_chargeDeclined", "card_declined", "generic_decline"),
        ("pm_card_chargeDeclinedInsufficientFunds", "card_declined", "insufficient_funds"),
        ("pm_card_chargeDeclinedLostCard", "card_declined", "lost_card"),
        ("pm_card_chargeDeclinedExpiredCard", "expired_card", "expired_card"),
        ("pm_card_chargeCustomerFail", "card_declined", "generic_decline"),
    ],
)
def test_the_declining_test_cards_fail_with_their_decline_code(payment_method, code, decline_code):
    result = _authorize(payment_method)

    assert result.status is PaymentStatus.FAILED
    assert (result.decline.code, result.decline.decline_code) == (code, decline_code)


def test_a_card_needing_authentication_requires_action_with_a_client_secret():
    result = _authorize("pm_card_authenticationRequired")

    assert result.status is PaymentStatus.REQUIRES_ACTION
    assert result.client_secret.startswith("pi_dummy_6f1c_1_secret_")
    assert result.next_action["type"] == "use_stripe_sdk"


def test_a_new_attempt_is_a_new_payment():
    first = DummyProvider().authorize(Authorization("ab", None, 1, 100, "USD", "pm_card_visa"))
    second = DummyProvider().authorize(Authorization("ab", None, 2, 100, "USD", "pm_card_visa"))

    assert first.provider_ref != second.provider_ref
    assert Authorization("ab", None, 2, 1, "USD", "x").idempotency_key == "order-ab-authorize-2"


@pytest.mark.parametrize("payment_method", ["pm_card_bogus", "pm_", "card_visa", "tok_visa", ""])
def test_anything_but_a_known_test_id_is_an_invalid_payment_method(app, payment_method):
    with pytest.raises(payments.InvalidPaymentMethod):
        payments.check_payment_method(payment_method)


@pytest.mark.parametrize(
    "text", ["4242424242424242", "4242 4242 4242 4242", "card 5555-5555-5555-4444 exp 12/30"]
)
def test_card_numbers_are_recognised_and_refused(app, text):
    assert looks_like_card_number(text)
    with pytest.raises(CardDataRefused):
        payments.check_checkout({"payment_method": "pm_card_visa", "notes": {"x": [text]}})


@pytest.mark.parametrize(
    "text", ["1 Analytical Way", "N1 9GU", "+44 20 7946 0958", "1234567890123"]
)
def test_ordinary_numbers_are_not_card_numbers(text):
    assert not looks_like_card_number(text)

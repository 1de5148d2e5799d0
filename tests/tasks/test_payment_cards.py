"""Stripe's test cards through the real placement chain with the dummy provider (worker)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import Notification, db
from tests.factories import auth_headers, make_book, make_user
from tests.support.orders import add_to_cart, check_out, wait_for_order, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.usefixtures("idle_workers_at_end")]


@pytest.fixture
def shop(app, committed, worker):
    return app.test_client()


def _place(shop, app, payment_method):
    headers = auth_headers(app, make_user())
    add_to_cart(shop, headers, make_book(price_cents=1500, on_hand=3), 1)
    placed = check_out(shop, headers, payment_method=payment_method)
    assert placed.status_code == 202, placed.get_json()
    return headers, wait_for_order(shop, headers, placed.get_json()["id"])


def _timeline(order) -> dict:
    return {entry["step"]: entry for entry in order["timeline"]}


def test_a_mastercard_is_authorised_then_captured_and_shows_its_brand(shop, app):
    _, order = _place(shop, app, "pm_card_mastercard")

    assert order["status"] == "confirmed"
    assert order["payment"]["status"] == "captured"
    assert order["payment"]["card"] == {"brand": "mastercard", "last4": "4444"}
    assert order["payment"]["amount_cents"] == order["total_cents"]
    assert "client_secret" not in order["payment"]


def test_insufficient_funds_fails_the_order_with_the_decline_code_as_json(shop, app):
    _, order = _place(shop, app, "pm_card_chargeDeclinedInsufficientFunds")

    assert (order["status"], order["status_reason"]) == ("payment_failed", "payment_declined")
    assert order["payment"]["status"] == "failed"
    assert order["payment"]["error"] == {
        "code": "card_declined",
        "decline_code": "insufficient_funds",
    }
    step = _timeline(order)["capture_payment"]
    assert step["status"] == "failed"
    assert step["error"] == {
        "error": "payment_declined",
        "message": "Your card was declined.",
        "details": {"code": "card_declined", "decline_code": "insufficient_funds"},
    }


def test_a_card_needing_authentication_waits_and_mails_the_shopper(shop, app):
    _, order = _place(shop, app, "pm_card_authenticationRequired")

    assert order["status"] == "awaiting_payment"
    assert order["payment"]["status"] == "requires_action"
    assert order["payment"]["client_secret"]
    assert order["payment"]["next_action"]["type"] == "use_stripe_sdk"
    assert _timeline(order)["capture_payment"]["error"]["error"] == "requires_action"
    key = f"order:{order['id']}:payment_action_required"
    assert wait_until(
        lambda: (
            db.session.scalar(select(Notification.status).where(Notification.dedupe_key == key))
            == "sent"
        )
    )

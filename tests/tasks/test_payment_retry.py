"""Paying a payment_failed order again with another card (dummy provider, real worker): the
stock is held again (or the order rejected if it is gone), the rest of the chain runs once."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from models import Cart, Notification, StockMovement, db
from tests.factories import auth_headers, make_book, make_user
from tests.support.ledger import ledger_drift
from tests.support.orders import add_to_cart, check_out, wait_for_order, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.usefixtures("idle_workers_at_end")]

DECLINED = "pm_card_chargeDeclinedInsufficientFunds"


@pytest.fixture
def shop(app, committed, worker):
    return app.test_client()


def _declined_order(shop, app, on_hand=1):
    user = make_user()
    headers = auth_headers(app, user)
    book = make_book(price_cents=1500, on_hand=on_hand)
    add_to_cart(shop, headers, book, 1)
    placed = check_out(shop, headers, payment_method=DECLINED)
    order = wait_for_order(shop, headers, placed.get_json()["id"])
    assert order["status"] == "payment_failed"
    return user, headers, book, order


def _retry(shop, headers, order_id, payment_method="pm_card_visa"):
    return shop.post(
        f"/api/v1/orders/{order_id}/payment",
        json={"payment_method": payment_method},
        headers=headers,
    )


def _movements(order_id) -> list[str]:
    db.session.expire_all()
    return sorted(
        db.session.scalars(select(StockMovement.reason).where(StockMovement.reference == order_id))
    )


def test_a_declined_order_paid_with_another_card_is_confirmed_once(shop, app, engine):
    user, headers, _, order = _declined_order(shop, app)

    retried = _retry(shop, headers, order["id"])
    confirmed = wait_for_order(shop, headers, order["id"], statuses={"confirmed"})

    assert retried.status_code == 202, retried.get_json()
    assert confirmed["status"] == "confirmed", confirmed["timeline"]
    assert confirmed["payment"]["status"] == "captured"
    assert confirmed["payment"]["card"]["last4"] == "4242"
    steps = {entry["step"]: entry["status"] for entry in confirmed["timeline"]}
    assert [steps[name] for name in ("reserve_stock", "capture_payment", "confirm_order")] == [
        "succeeded"
    ] * 3
    # held, released with the decline, held again, sold: each once
    assert _movements(order["id"]) == ["payment_failed", "reserve", "reserve", "sale"]
    assert (
        db.session.get(
            Cart, db.session.scalar(select(Cart.id).where(Cart.user_id == user.id))
        ).status
        == "converted"
    )
    assert wait_until(
        lambda: (
            db.session.scalar(
                select(func.count())
                .select_from(Notification)
                .where(Notification.dedupe_key == f"order:{order['id']}:confirmed")
            )
            == 1
        )
    )
    with engine.connect() as conn:
        assert ledger_drift(conn) == []


def test_a_retry_after_the_stock_was_sold_rejects_the_order(shop, app, engine):
    _, headers, book, order = _declined_order(shop, app, on_hand=1)
    # Meanwhile another shopper buys the last copy.
    rival = auth_headers(app, make_user())
    add_to_cart(shop, rival, book, 1)
    bought = wait_for_order(shop, rival, check_out(shop, rival).get_json()["id"])
    assert bought["status"] == "confirmed"

    assert _retry(shop, headers, order["id"]).status_code == 202
    rejected = wait_for_order(shop, headers, order["id"], statuses={"rejected"})

    assert (rejected["status"], rejected["status_reason"]) == ("rejected", "insufficient_stock")
    assert rejected["payment"]["status"] == "pending"  # no card was charged for it
    with engine.connect() as conn:
        assert ledger_drift(conn) == []


def test_a_confirmed_order_cannot_be_paid_again(shop, app):
    headers = auth_headers(app, make_user())
    add_to_cart(shop, headers, make_book(on_hand=2), 1)
    order = wait_for_order(shop, headers, check_out(shop, headers).get_json()["id"])

    answer = _retry(shop, headers, order["id"])

    assert answer.status_code == 409
    assert answer.get_json()["error"] == "order_not_retryable"


def test_a_payment_method_that_is_not_a_test_card_is_refused_before_anything_changes(shop, app):
    _, headers, _, order = _declined_order(shop, app)

    answer = _retry(shop, headers, order["id"], payment_method="pm_made_up")

    assert answer.status_code == 422
    assert answer.get_json()["error"] == "invalid_payment_method"
    after = shop.get(f"/api/v1/orders/{order['id']}", headers=headers).get_json()
    assert after["status"] == "payment_failed"


def test_an_order_tried_with_too_many_cards_must_be_checked_out_again(shop, app):
    _, headers, _, order = _declined_order(shop, app, on_hand=3)
    for _ in range(4):
        assert _retry(shop, headers, order["id"], DECLINED).status_code == 202
        again = wait_for_order(shop, headers, order["id"], statuses={"payment_failed"})
        assert again["status"] == "payment_failed"

    answer = _retry(shop, headers, order["id"])

    assert answer.status_code == 409
    assert answer.get_json()["error"] == "too_many_payment_attempts"

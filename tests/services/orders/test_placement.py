"""The placement steps called directly (one transaction each), on crafted orders."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from models import Order, Promotion, PromotionRedemption, StockMovement, db
from services.inventory import stock as inventory
from services.orders import placement as order_placement
from services.orders.placement import Outcome
from tests.factories import auth_headers, make_book, make_user
from tests.support.orders import add_to_cart, check_out


def _placed(client, app, payment_method="pm_card_visa", quantity=1, **fields) -> uuid.UUID:
    headers = auth_headers(app, make_user())
    add_to_cart(client, headers, make_book(on_hand=5), quantity)
    response = check_out(client, headers, payment_method=payment_method, **fields)
    assert response.status_code == 202, response.get_json()
    return uuid.UUID(response.get_json()["id"])


def _reasons(order_id) -> list[str]:
    return list(
        db.session.scalars(
            select(StockMovement.reason)
            .where(StockMovement.reference == str(order_id))
            .order_by(StockMovement.id)
        )
    )


def test_each_step_run_twice_does_its_work_once(client, app):
    order_id = _placed(client, app)

    with app.app_context():  # the steps read settings (payment provider)
        results = [
            step(order_id).outcome
            for step in (
                order_placement.reserve_stock,
                order_placement.reserve_stock,
                order_placement.capture_payment,
                order_placement.capture_payment,
                order_placement.confirm_order,
                order_placement.confirm_order,
            )
        ]

    assert results == [Outcome.CONTINUE] * 6
    assert _reasons(order_id) == ["reserve", "sale"]
    order = db.session.get(Order, order_id)
    assert order.status == "confirmed"
    assert [step.attempts for step in order.steps[:3]] == [1, 1, 1]


def test_a_declined_card_gives_the_promotion_back(client, app):
    db.session.add(Promotion(code="FIVE", kind="fixed", value=500, max_redemptions=1))
    db.session.commit()
    order_id = _placed(client, app, "pm_card_chargeDeclined", promo_code="FIVE")
    promotion = db.session.scalar(select(Promotion).where(Promotion.code == "FIVE"))
    assert promotion.redemptions == 1

    with app.app_context():
        order_placement.reserve_stock(order_id)
        result = order_placement.capture_payment(order_id)

    db.session.expire_all()
    assert result.outcome is Outcome.STOP and len(result.outbox_ids) == 1
    assert db.session.get(Order, order_id).status == "payment_failed"
    assert db.session.get(Promotion, promotion.id).redemptions == 0
    redemption = db.session.scalar(select(PromotionRedemption))
    assert redemption.status == "returned"


def test_a_hold_that_lapsed_before_confirmation_cancels_and_refunds(client, app):
    order_id = _placed(client, app)
    with app.app_context():
        order_placement.reserve_stock(order_id)
        order_placement.capture_payment(order_id)
        # The reservation was released meanwhile (e.g. expired past the payment deadline).
        inventory.release(order_id, reason="expire")
        db.session.commit()

        result = order_placement.confirm_order(order_id)

    db.session.expire_all()
    order = db.session.get(Order, order_id)
    assert result.outcome is Outcome.STOP
    assert (order.status, order.status_reason) == ("cancelled", "reservation_expired")
    # Only authorised (capture comes with confirmation): the hold is dropped, nothing taken.
    assert order.payment.status == "voided"
    assert _reasons(order_id) == ["reserve", "expire"]


def test_a_cancelled_order_is_not_reserved_by_a_late_chain(client, app):
    order_id = _placed(client, app)
    order = db.session.get(Order, order_id)
    order.status = "cancelled"
    db.session.commit()

    result = order_placement.reserve_stock(order_id)

    db.session.expire_all()
    assert result.outcome is Outcome.STOP
    assert _reasons(order_id) == []
    assert {step.status for step in db.session.get(Order, order_id).steps} == {"skipped"}

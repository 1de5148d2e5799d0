"""Radar through the real chain (dummy provider, real worker): a risky charge holds the order
for review with its money authorised; staff approve (captured, confirmed) or reject (voided,
stock released); both audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import AuditLog, Role, Stock, db
from tests.factories import auth_headers, make_book, make_user
from tests.support.orders import add_to_cart, check_out, wait_for_order, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.usefixtures("idle_workers_at_end")]


@pytest.fixture
def shop(app, committed, worker):
    return app.test_client()


def _order(shop, headers, order_id) -> dict:
    return shop.get(f"/api/v1/orders/{order_id}", headers=headers).get_json()


def _held(shop, app, payment_method="pm_card_riskLevelElevated"):
    headers = auth_headers(app, make_user())
    book = make_book(price_cents=1500, on_hand=2)
    add_to_cart(shop, headers, book, 1)
    order_id = check_out(shop, headers, payment_method=payment_method).get_json()["id"]
    assert wait_until(lambda: _order(shop, headers, order_id)["status_reason"] == "review")
    return headers, book, _order(shop, headers, order_id)


def _decide(shop, app, order_id, decision, user=None):
    staff = user or make_user(role=Role.STAFF)
    return shop.post(
        f"/api/v1/orders/{order_id}/review",
        json={"decision": decision, "note": "checked the address"},
        headers=auth_headers(app, staff),
    )


def _reserved(book) -> int:
    db.session.expire_all()
    return db.session.scalars(select(Stock.reserved).where(Stock.book_id == book.id)).one()


@pytest.mark.parametrize("card", ["pm_card_riskLevelElevated", "pm_card_riskLevelHighest"])
def test_a_risky_charge_holds_the_order_for_review_with_the_money_authorised(shop, app, card):
    _, book, order = _held(shop, app, card)

    assert (order["status"], order["status_reason"]) == ("pending", "review")
    assert order["payment"]["status"] == "authorized"
    steps = {entry["step"]: entry["status"] for entry in order["timeline"]}
    assert (steps["capture_payment"], steps["confirm_order"]) == ("succeeded", "pending")
    assert _reserved(book) == 1


def test_an_approved_order_is_captured_and_confirmed_and_audited(shop, app):
    headers, book, order = _held(shop, app)
    staff = make_user(role=Role.STAFF)

    answer = _decide(shop, app, order["id"], "approve", staff)
    confirmed = wait_for_order(shop, headers, order["id"], statuses={"confirmed"})

    assert answer.status_code == 200, answer.get_json()
    assert confirmed["payment"]["status"] == "captured"
    assert _reserved(book) == 0
    entry = db.session.scalars(select(AuditLog).where(AuditLog.entity_id == order["id"])).one()
    assert (entry.action, entry.actor_id) == ("review_approve", staff.id)
    assert entry.after["risk_level"] == "elevated"
    assert entry.after["note"] == "checked the address"


def test_a_rejected_order_is_cancelled_its_hold_voided_and_its_stock_released(shop, app):
    _, book, order = _held(shop, app)

    answer = _decide(shop, app, order["id"], "reject")

    assert answer.status_code == 200
    body = answer.get_json()
    assert (body["status"], body["status_reason"]) == ("cancelled", "review_rejected")
    assert body["payment"]["status"] == "voided"
    assert _reserved(book) == 0
    assert _decide(shop, app, order["id"], "approve").get_json()["error"] == ("order_not_in_review")


def test_only_staff_review_and_only_orders_held_for_it(shop, app):
    headers = auth_headers(app, make_user())
    add_to_cart(shop, headers, make_book(on_hand=2), 1)
    normal = wait_for_order(shop, headers, check_out(shop, headers).get_json()["id"])
    assert normal["status"] == "confirmed"

    not_held = _decide(shop, app, normal["id"], "approve")
    by_shopper = shop.post(
        f"/api/v1/orders/{normal['id']}/review", json={"decision": "approve"}, headers=headers
    )
    unknown = _decide(shop, app, normal["id"], "maybe")

    assert (not_held.status_code, not_held.get_json()["error"]) == (409, "order_not_in_review")
    assert by_shopper.status_code == 403
    assert unknown.status_code == 422

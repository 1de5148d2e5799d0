"""The order placement chain on a real worker over RabbitMQ: happy path, declined card,
customer action, cancellation before and after confirmation."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from models import Cart, Notification, Order, Payment, ReindexRequest, Stock, StockMovement, db
from tests.factories import auth_headers, make_book, make_user
from tests.support.ledger import ledger_drift
from tests.support.orders import add_to_cart, check_out, wait_for_order, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.usefixtures("idle_workers_at_end")]


@pytest.fixture
def shop(app, committed, worker):
    """A test client over committed data, with a real worker running."""
    return app.test_client()


def _stock(book_id) -> Stock:
    db.session.expire_all()
    return db.session.scalars(select(Stock).where(Stock.book_id == book_id)).one()


def _movements(order_id) -> list[str]:
    return list(
        db.session.scalars(
            select(StockMovement.reason)
            .where(StockMovement.reference == str(order_id))
            .order_by(StockMovement.id)
        )
    )


def _emails(order_id) -> list[tuple[str, str]]:
    """(dedupe key, status) of the order's notifications."""
    db.session.expire_all()
    rows = db.session.execute(
        select(Notification.dedupe_key, Notification.status).where(
            Notification.dedupe_key.like(f"order:{order_id}:%")
        )
    )
    return sorted(tuple(row) for row in rows)


def _drift(engine):
    with engine.connect() as conn:
        return ledger_drift(conn)


def test_from_an_empty_cart_to_a_confirmed_order(shop, app, engine):
    user = make_user()
    headers = auth_headers(app, user)
    book = make_book("Happy", price_cents=1200, on_hand=4)
    assert shop.get("/api/v1/cart", headers=headers).get_json()["items"] == []
    add_to_cart(shop, headers, book, 2)

    placed = check_out(shop, headers)
    order = wait_for_order(shop, headers, placed.get_json()["id"])

    assert placed.status_code == 202
    assert order["status"] == "confirmed", order["timeline"]
    assert order["payment"] == {
        "status": "captured",
        "provider": "dummy",
        "amount_cents": order["total_cents"],
        "currency": order["currency"],
        "card": {"brand": "visa", "last4": "4242"},
        "refunded_cents": 0,
    }
    steps = {entry["step"]: entry for entry in order["timeline"]}
    for name in ("reserve_stock", "capture_payment", "confirm_order"):
        assert steps[name]["status"] == "succeeded" and steps[name]["attempts"] == 1
        assert steps[name]["started_at"] and steps[name]["finished_at"]
    stock = _stock(book.id)
    assert (stock.on_hand, stock.reserved) == (2, 0)
    assert _movements(order["id"]) == ["reserve", "sale"]
    assert _drift(engine) == []
    cart = db.session.get(Cart, db.session.get(Order, uuid.UUID(order["id"])).cart_id)
    assert cart.status == "converted"
    # The parallel tail: shipment requested, books recorded for reindexing.
    final = wait_for_order(shop, headers, order["id"], statuses={"confirmed"})
    assert wait_until(
        lambda: (
            shop.get(f"/api/v1/orders/{order['id']}", headers=headers).get_json()["shipment"][
                "status"
            ]
            == "requested"
        )
    )
    assert wait_until(
        lambda: db.session.scalar(select(func.count()).select_from(ReindexRequest)) == 1
    )
    assert final["items"][0]["unit_price_cents"] == 1200
    # The confirmation email is written once.
    assert wait_until(lambda: _emails(order["id"]) == [(f"order:{order['id']}:confirmed", "sent")])
    # A new cart starts empty.
    assert shop.get("/api/v1/cart", headers=headers).get_json()["items"] == []


def test_a_declined_card_releases_the_stock_and_unlocks_the_cart(shop, app, engine):
    headers = auth_headers(app, make_user())
    book = make_book(on_hand=3)
    add_to_cart(shop, headers, book, 2)

    placed = check_out(shop, headers, payment_method="pm_card_chargeDeclined")
    order = wait_for_order(shop, headers, placed.get_json()["id"])

    assert order["status"] == "payment_failed"
    assert order["status_reason"] == "payment_declined"
    assert order["payment"]["status"] == "failed"
    steps = {entry["step"]: entry["status"] for entry in order["timeline"]}
    assert steps["capture_payment"] == "failed" and steps["confirm_order"] == "skipped"
    stock = _stock(book.id)
    assert (stock.on_hand, stock.reserved) == (3, 0)
    assert _movements(order["id"]) == ["reserve", "payment_failed"]
    assert _drift(engine) == []
    cart = shop.get("/api/v1/cart", headers=headers).get_json()
    assert cart["locked"] is False and cart["items"][0]["quantity"] == 2
    expected = [(f"order:{order['id']}:payment_failed", "sent")]
    assert wait_until(lambda: _emails(order["id"]) == expected)


def test_a_card_needing_customer_action_waits_with_the_stock_held(shop, app):
    headers = auth_headers(app, make_user())
    book = make_book(on_hand=3)
    add_to_cart(shop, headers, book, 1)

    placed = check_out(shop, headers, payment_method="pm_card_authenticationRequired")
    order = wait_for_order(shop, headers, placed.get_json()["id"])

    assert order["status"] == "awaiting_payment"
    assert order["payment"]["status"] == "requires_action"
    assert order["payment"]["client_secret"].startswith("pi_dummy_")
    assert _stock(book.id).reserved == 1
    assert shop.get("/api/v1/cart", headers=headers).get_json()["locked"] is True


def test_no_stock_rejects_the_order_and_unlocks_the_cart(shop, app, engine):
    headers = auth_headers(app, make_user())
    book = make_book(on_hand=1)
    add_to_cart(shop, headers, book, 2)

    order = wait_for_order(shop, headers, check_out(shop, headers).get_json()["id"])

    assert order["status"] == "rejected" and order["status_reason"] == "insufficient_stock"
    assert order["payment"]["status"] == "pending"
    assert _movements(order["id"]) == []
    assert _stock(book.id).reserved == 0
    assert shop.get("/api/v1/cart", headers=headers).get_json()["locked"] is False
    assert wait_until(lambda: _emails(order["id"]) == [(f"order:{order['id']}:rejected", "sent")])


def test_cancelling_before_payment_releases_the_held_stock(shop, app, engine):
    headers = auth_headers(app, make_user())
    book = make_book(on_hand=2)
    add_to_cart(shop, headers, book, 1)
    placed = check_out(shop, headers, payment_method="pm_card_authenticationRequired")
    order_id = wait_for_order(shop, headers, placed.get_json()["id"])["id"]

    cancelled = shop.post(
        f"/api/v1/orders/{order_id}/cancel", headers={**headers, "Idempotency-Key": "c1"}
    )
    again = shop.post(
        f"/api/v1/orders/{order_id}/cancel", headers={**headers, "Idempotency-Key": "c1"}
    )

    assert cancelled.status_code == again.status_code == 200
    assert cancelled.get_json()["status"] == "cancelled"
    assert cancelled.get_json()["payment"]["status"] == "voided"
    assert _movements(order_id) == ["reserve", "cancel"]
    stock = _stock(book.id)
    assert (stock.on_hand, stock.reserved) == (2, 0)
    assert _drift(engine) == []
    assert shop.get("/api/v1/cart", headers=headers).get_json()["locked"] is False


def test_cancelling_a_confirmed_order_restocks_and_refunds(shop, app, engine):
    headers = auth_headers(app, make_user())
    book = make_book(on_hand=2)
    add_to_cart(shop, headers, book, 2)
    order_id = wait_for_order(shop, headers, check_out(shop, headers).get_json()["id"])["id"]

    cancelled = shop.post(f"/api/v1/orders/{order_id}/cancel", headers=headers)

    body = cancelled.get_json()
    assert body["status"] == "cancelled" and body["payment"]["status"] == "refunded"
    assert _movements(order_id) == ["reserve", "sale", "return"]
    stock = _stock(book.id)
    assert (stock.on_hand, stock.reserved) == (2, 0)
    assert _drift(engine) == []
    payments = db.session.scalars(select(Payment).where(Payment.order_id == uuid.UUID(order_id)))
    assert len(payments.all()) == 1
    expected = [(f"order:{order_id}:{event}", "sent") for event in ("cancelled", "confirmed")]
    assert wait_until(lambda: _emails(order_id) == expected)

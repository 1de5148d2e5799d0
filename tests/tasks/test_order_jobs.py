"""The order area's scheduled jobs on crafted data, run by a real worker: idle carts expire,
unpaid orders past their deadline are cancelled with their stock released."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from models import Cart, CartItem, JobRun, Order, Stock, db
from tests.factories import auth_headers, make_book, make_user
from tests.support.ledger import ledger_drift
from tests.support.orders import add_to_cart, check_out, wait_for_order

pytestmark = [pytest.mark.worker, pytest.mark.usefixtures("idle_workers_at_end")]


def _run(app, name: str):
    return app.extensions["celery"].send_task(f"tasks.maintenance.{name}").get(timeout=30)


def _last_run(job: str) -> JobRun:
    db.session.expire_all()
    return db.session.scalars(
        select(JobRun).where(JobRun.job == job).order_by(JobRun.started_at.desc())
    ).first()


def test_idle_open_carts_expire_and_busy_or_fresh_ones_stay(app, committed, worker):
    book = make_book()
    past = datetime.now(UTC) - timedelta(minutes=1)
    idle = Cart(token_hash="a" * 64, expires_at=past, items=[CartItem(book_id=book.id, quantity=2)])
    locked = Cart(user_id=make_user().id, status="locked", expires_at=past)
    fresh = Cart(token_hash="b" * 64, expires_at=past + timedelta(days=1))
    db.session.add_all([idle, locked, fresh])
    db.session.commit()

    expired = _run(app, "expire_carts")

    db.session.expire_all()
    assert expired == 1
    assert db.session.get(Cart, idle.id).status == "expired"
    assert db.session.get(Cart, idle.id).items == []
    assert db.session.get(Cart, locked.id).status == "locked"
    assert db.session.get(Cart, fresh.id).status == "open"
    run = _last_run("expire_carts")
    assert run.status == "succeeded" and run.counts == {"expired": 1}


def test_unpaid_orders_past_their_deadline_are_cancelled_and_release_stock(
    app, committed, worker, engine
):
    headers = auth_headers(app, make_user())
    book = make_book(on_hand=3)
    client = app.test_client()
    add_to_cart(client, headers, book, 2)
    placed = check_out(client, headers, payment_method="pm_card_authenticationRequired")
    order_id = wait_for_order(client, headers, placed.get_json()["id"])["id"]
    other = auth_headers(app, make_user())
    add_to_cart(client, other, book, 1)
    waiting_id = wait_for_order(
        client,
        other,
        check_out(client, other, payment_method="pm_card_authenticationRequired").get_json()["id"],
    )["id"]
    # Given one order whose payment deadline has passed (the other's has not)
    db.session.execute(
        update(Order)
        .where(Order.id == uuid.UUID(order_id))
        .values(payment_deadline=datetime.now(UTC) - timedelta(seconds=1))
    )
    db.session.commit()

    expired = _run(app, "expire_unpaid_orders")

    order = client.get(f"/api/v1/orders/{order_id}", headers=headers).get_json()
    assert expired == 1
    assert order["status"] == "cancelled" and order["status_reason"] == "payment_timeout"
    assert order["payment"]["status"] == "voided"
    assert client.get(f"/api/v1/orders/{waiting_id}", headers=other).get_json()["status"] == (
        "awaiting_payment"
    )
    db.session.expire_all()
    stock = db.session.scalars(select(Stock).where(Stock.book_id == book.id)).one()
    assert (stock.on_hand, stock.reserved) == (3, 1)
    with engine.connect() as conn:
        assert ledger_drift(conn) == []
    assert client.get("/api/v1/cart", headers=headers).get_json()["locked"] is False
    run = _last_run("expire_unpaid_orders")
    assert run.status == "succeeded"
    assert run.counts == {"orders_expired": 1, "reservations_expired": 0}

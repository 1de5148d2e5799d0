"""Stripe unreachable (STRIPE_API_BASE at a closed port): checkout keeps the order, the payment
step retries with the same attempt, and the order ends in a clear state: paid once when Stripe
is back, or expired by the poller at its deadline with its stock released."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from models import Order, OrderStep, Payment, Stock, db
from services.payments import polling
from tasks.chains import send_recorded
from tests.factories import auth_headers, make_book, make_user
from tests.support.localstripe import LocalStripe
from tests.support.orders import (
    add_to_cart,
    check_out,
    wait_for_idle_workers,
    wait_for_order,
    wait_until,
)
from tests.support.stripe import API_KEY, bound_settings, stripe_config
from tests.support.workers import WorkerProcess
from workers import QUEUES

pytestmark = [pytest.mark.worker, pytest.mark.usefixtures("idle_workers_at_end")]


@pytest.fixture
def stripe_down(app, committed, worker):
    """A worker whose Stripe is a closed port (no library retries, 1 s timeout); the session
    worker stops consuming meanwhile. Yields the (not started) localstripe for that port."""
    server = LocalStripe()  # its port is free: nothing listens there yet
    control = app.extensions["celery"].control
    paused = [worker.hostname.replace("%h", os.uname().nodename)]
    for queue in QUEUES:
        control.cancel_consumer(queue, destination=paused, reply=True)
    config = stripe_config(server, STRIPE_MAX_NETWORK_RETRIES="0", STRIPE_TIMEOUT_SECONDS="1")
    process = WorkerProcess(app.extensions["celery"], name="stripe-down", env=config)
    process.start()
    try:
        with bound_settings({**app.config, **config}):
            yield server
    finally:
        process.stop()
        server.stop()
        for queue in QUEUES:
            control.add_consumer(queue, destination=paused, reply=True)


def _payment_step(order_id: str) -> OrderStep:
    db.session.expire_all()
    return db.session.scalars(
        select(OrderStep).where(OrderStep.order_id == order_id, OrderStep.step == "capture_payment")
    ).one()


def _place_while_down(shop, app):
    headers = auth_headers(app, make_user())
    book = make_book(price_cents=2000, on_hand=1)
    add_to_cart(shop, headers, book, 1)
    placed = check_out(shop, headers, payment_method="pm_card_visa")
    assert placed.status_code == 202, placed.get_json()
    order_id = placed.get_json()["id"]
    # The step fails with the provider unreachable, is recorded, and is tried again.
    assert wait_until(lambda: _payment_step(order_id).attempts >= 2, timeout=30)
    step = _payment_step(order_id)
    assert json.loads(step.error)["error"] == "PaymentProviderUnavailable"
    order = shop.get(f"/api/v1/orders/{order_id}", headers=headers).get_json()
    assert (order["status"], order["payment"]["status"]) == ("pending", "pending")
    return headers, book, order_id


def test_an_order_placed_while_stripe_is_down_is_paid_once_when_it_is_back(app, stripe_down):
    shop = app.test_client()
    headers, _, order_id = _place_while_down(shop, app)

    stripe_down.start()  # Stripe answers again, at the same address
    confirmed = wait_for_order(shop, headers, order_id, statuses={"confirmed"}, timeout=60)

    assert confirmed["status"] == "confirmed", confirmed["timeline"]
    assert confirmed["payment"]["status"] == "captured"
    import stripe

    client = stripe.StripeClient(API_KEY, base_addresses={"api": stripe_down.url})
    intents = [
        i.status
        for i in client.v1.payment_intents.list(params={"limit": 100}).auto_paging_iter()
        if i.to_dict()["metadata"].get("order_id") == order_id
    ]
    assert intents == ["succeeded"]


def test_an_order_stripe_never_answered_for_expires_at_its_deadline(app, stripe_down):
    shop = app.test_client()
    headers, book, order_id = _place_while_down(shop, app)

    db.session.execute(
        update(Order)
        .where(Order.id == order_id)
        .values(payment_deadline=datetime.now(UTC) - timedelta(seconds=1))
    )
    db.session.commit()
    counts, outbox_ids = polling.settle_stuck_payments(stuck_after=timedelta(0))
    send_recorded(app.extensions["celery"], outbox_ids)
    order = shop.get(f"/api/v1/orders/{order_id}", headers=headers).get_json()

    assert counts["expired"] == 1
    assert (order["status"], order["status_reason"]) == ("cancelled", "payment_timeout")
    db.session.expire_all()
    assert db.session.scalars(select(Stock.reserved).where(Stock.book_id == book.id)).one() == 0
    # The step's retries (queued with their backoff) find the order cancelled and stop.
    assert wait_for_idle_workers(app.extensions["celery"], timeout=60)
    step = _payment_step(order_id)
    assert step.status == "skipped"
    assert step.finished_at is not None


def test_paying_again_while_stripe_is_down_is_a_503_to_retry_and_changes_nothing(app, stripe_down):
    shop = app.test_client()
    headers, _, order_id = _place_while_down(shop, app)
    # Given an order waiting for 3-D Secure (as if Stripe had answered before going down)
    db.session.execute(update(Order).where(Order.id == order_id).values(status="awaiting_payment"))
    db.session.execute(
        update(Payment)
        .where(Payment.order_id == order_id)
        .values(status="requires_action", provider_ref="pi_unreachable")
    )
    db.session.commit()

    answer = shop.post(
        f"/api/v1/orders/{order_id}/payment",
        json={"payment_method": "pm_card_mastercard"},
        headers=headers,
    )

    assert answer.status_code == 503
    assert answer.get_json()["error"] == "payment_provider_unavailable"
    assert answer.headers["Retry-After"] == "30"
    order = shop.get(f"/api/v1/orders/{order_id}", headers=headers).get_json()
    assert (order["status"], order["payment"]["status"]) == ("awaiting_payment", "requires_action")

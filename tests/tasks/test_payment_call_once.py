"""Exactly one authorisation per attempt without the order row locked during the call: the
payment step of one order delivered eight times at once to a thread-pool worker (against a
real localstripe, which ignores idempotency keys) creates one PaymentIntent, and the order
is confirmed once."""

from __future__ import annotations

import os

import pytest
import stripe
from sqlalchemy import func, select

from models import Notification, OrderStep, StockMovement, db
from tests.factories import auth_headers, make_book, make_user
from tests.support.orders import add_to_cart, check_out, wait_for_order, wait_until
from tests.support.stripe import API_KEY, bound_settings, localstripe, stripe_config  # noqa: F401
from tests.support.workers import WorkerProcess
from workers import QUEUES

pytestmark = [pytest.mark.worker, pytest.mark.usefixtures("idle_workers_at_end")]

DELIVERIES = 8


@pytest.fixture
def stripe_without_payments(app, committed, worker, localstripe):  # noqa: F811
    """Every queue but payments served with Stripe settings; payments waits in its queue."""
    control = app.extensions["celery"].control
    paused = [worker.hostname.replace("%h", os.uname().nodename)]
    for queue in QUEUES:
        control.cancel_consumer(queue, destination=paused, reply=True)
    config = stripe_config(localstripe)
    others = tuple(queue for queue in QUEUES if queue != "payments")
    process = WorkerProcess(app.extensions["celery"], name="no-payments", queues=others, env=config)
    process.start()
    payments = WorkerProcess(
        app.extensions["celery"],
        name="payments-threads",
        queues=("payments",),
        pool="threads",
        concurrency=DELIVERIES,
        env={**config, "DATABASE_POOL_SIZE": str(DELIVERIES + 2)},
    )
    try:
        with bound_settings({**app.config, **config}):
            yield payments
    finally:
        payments.stop()
        process.stop()
        for queue in QUEUES:
            control.add_consumer(queue, destination=paused, reply=True)


def _step(order_id: str, name: str) -> OrderStep:
    db.session.expire_all()
    return db.session.scalars(
        select(OrderStep).where(OrderStep.order_id == order_id, OrderStep.step == name)
    ).one()


def test_eight_concurrent_deliveries_of_one_payment_step_make_one_payment_intent(
    app,
    stripe_without_payments,
    localstripe,  # noqa: F811
):
    shop = app.test_client()
    headers = auth_headers(app, make_user())
    add_to_cart(shop, headers, make_book(price_cents=2000, on_hand=1), 1)
    order_id = check_out(shop, headers, payment_method="pm_card_visa").get_json()["id"]
    assert wait_until(lambda: _step(order_id, "reserve_stock").status == "succeeded")
    # Given the chain's payment step and seven duplicates queued together,
    celery = app.extensions["celery"]
    for _ in range(DELIVERIES - 1):
        celery.send_task("tasks.payments.capture_payment", args=(order_id,), queue="payments")
    # when a worker with eight threads takes them all at once
    stripe_without_payments.start()
    confirmed = wait_for_order(shop, headers, order_id, statuses={"confirmed"}, timeout=60)

    # then Stripe saw one PaymentIntent, captured for the total, and every effect happened once
    client = stripe.StripeClient(API_KEY, base_addresses={"api": localstripe.url})
    intents = [
        (i.status, i.amount)
        for i in client.v1.payment_intents.list(params={"limit": 100}).auto_paging_iter()
        if i.to_dict()["metadata"].get("order_id") == order_id
    ]
    assert intents == [("succeeded", confirmed["total_cents"])]
    reasons = db.session.scalars(
        select(StockMovement.reason).where(StockMovement.reference == order_id)
    ).all()
    assert sorted(reasons) == ["reserve", "sale"]
    assert wait_until(
        lambda: (
            db.session.scalar(
                select(func.count())
                .select_from(Notification)
                .where(Notification.dedupe_key == f"order:{order_id}:confirmed")
            )
            == 1
        )
    )
    assert _step(order_id, "capture_payment").status == "succeeded"

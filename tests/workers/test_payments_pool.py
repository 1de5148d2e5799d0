"""The payments queue on a thread pool: 20 slow payments take about the time of one."""

from __future__ import annotations

import os
import time

import pytest
from sqlalchemy import func, select

from models import Order, OrderStep, db
from tests.factories import auth_headers, make_book, make_user
from tests.support.orders import add_to_cart, check_out, wait_for_idle_workers, wait_until
from tests.support.workers import WorkerProcess

pytestmark = pytest.mark.worker

SLOW_SECONDS = 2.0
ORDERS = 20


@pytest.fixture
def payments_on_threads(app, committed, worker):
    """The session worker stops serving payments; a thread-pool worker serves them with a
    provider that takes SLOW_SECONDS per payment."""
    control = app.extensions["celery"].control
    paused = [worker.hostname.replace("%h", os.uname().nodename)]
    control.cancel_consumer("payments", destination=paused, reply=True)
    threads = WorkerProcess(
        app.extensions["celery"],
        name="payments",
        concurrency=ORDERS,
        queues=("payments",),
        pool="threads",
        env={"PAYMENT_DUMMY_SLOW_SECONDS": str(SLOW_SECONDS), "DATABASE_POOL_SIZE": "20"},
    )
    threads.start()
    try:
        yield threads
    finally:
        wait_for_idle_workers(app.extensions["celery"])
        threads.stop()
        control.add_consumer("payments", destination=paused, reply=True)


def test_twenty_slow_payments_finish_in_about_the_time_of_one(app, payments_on_threads):
    client = app.test_client()
    shoppers = []
    for _ in range(ORDERS):
        headers = auth_headers(app, make_user())
        add_to_cart(client, headers, make_book(on_hand=1), 1)
        shoppers.append(headers)

    started = time.monotonic()
    for headers in shoppers:
        assert check_out(client, headers, payment_method="pm_card_visa_slow").status_code == 202

    def confirmed() -> bool:
        db.session.expire_all()
        count = select(func.count()).select_from(Order).where(Order.status == "confirmed")
        return db.session.scalar(count) == ORDERS

    assert wait_until(confirmed, timeout=60)
    elapsed = time.monotonic() - started
    steps = {
        (order_id, name): (begin, end)
        for order_id, name, begin, end in db.session.execute(
            select(OrderStep.order_id, OrderStep.step, OrderStep.started_at, OrderStep.finished_at)
        )
    }
    payments = [times for (_, name), times in steps.items() if name == "capture_payment"]
    # From the moment an order was ready to pay (stock reserved) to its payment done.
    latencies = [
        (steps[(order_id, "capture_payment")][1] - end).total_seconds()
        for (order_id, name), (_, end) in steps.items()
        if name == "reserve_stock"
    ]
    peak = max(sum(1 for b, e in payments if b <= moment < e) for moment, _ in payments)
    print(
        f"\n{ORDERS} payments of {SLOW_SECONDS}s on threads: {peak} at once, slowest "
        f"reserved-to-paid {max(latencies):.2f}s, checkout to all confirmed {elapsed:.2f}s"
    )

    # One at a time the last would wait ORDERS * SLOW_SECONDS (40 s); side by side each
    # takes about the time of one.
    assert peak >= ORDERS // 2
    assert max(latencies) < 2 * SLOW_SECONDS + 1.5

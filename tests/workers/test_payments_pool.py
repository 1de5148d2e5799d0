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
    intervals = db.session.execute(
        select(OrderStep.started_at, OrderStep.finished_at).where(
            OrderStep.step == "capture_payment"
        )
    ).all()
    span = (max(end for _, end in intervals) - min(begin for begin, _ in intervals)).total_seconds()
    # The most payment steps in flight at one moment.
    peak = max(sum(1 for b, e in intervals if b <= moment < e) for moment, _ in intervals)
    print(
        f"\n{ORDERS} payments of {SLOW_SECONDS}s on threads: first start to last finish "
        f"{span:.2f}s, {peak} at once, checkout to all confirmed {elapsed:.2f}s"
    )

    # One at a time they would take ORDERS * SLOW_SECONDS (40 s); side by side about one
    # (plus the time the checkouts take to arrive).
    assert peak >= ORDERS // 2
    assert span < ORDERS * SLOW_SECONDS / 4

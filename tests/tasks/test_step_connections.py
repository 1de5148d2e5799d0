"""Database connections each order step holds at once, counted on the real pool: the pool sizes
of `make run`'s workers (run.processes) must cover their threads at that peak."""

from __future__ import annotations

from sqlalchemy import event

import run
from models import db
from services.orders import checkout, placement
from tests.factories import auth_headers, make_book, make_user
from tests.support.orders import add_to_cart, checkout_body, placement_steps


def test_pool_sizes_cover_the_connections_each_step_holds(app, committed, engine):
    held, peak, current = [0], {}, {"label": None}

    def checked_out(*_):
        held[0] += 1
        if current["label"]:
            peak[current["label"]] = max(peak.get(current["label"], 0), held[0])

    def checked_in(*_):
        held[0] -= 1

    # Given a placed order (the chain not sent: the steps run here, in order)
    user = make_user()
    client, headers = app.test_client(), auth_headers(app, user)
    add_to_cart(client, headers, make_book(on_hand=5), 1)
    order_id = checkout.place_order(user, checkout_body(), None).order.id
    db.session.remove()

    # When every step runs once, as a worker thread runs it
    event.listen(engine.pool, "checkout", checked_out)
    event.listen(engine.pool, "checkin", checked_in)
    try:
        with app.app_context():
            steps = placement_steps()
            for name, step in steps.items():
                current["label"] = name
                assert step(order_id).outcome is placement.Outcome.CONTINUE, name
                db.session.remove()  # as the task base does after each task
                current["label"] = None
    finally:
        event.remove(engine.pool, "checkout", checked_out)
        event.remove(engine.pool, "checkin", checked_in)

    # Then the payment step holds its lock guard's connection and its session's at once; the
    # others one; and the payments worker's pool has that many per thread
    assert peak == {**dict.fromkeys(steps, 1), "capture_payment": 2}
    assert peak["capture_payment"] == run.PAYMENT_STEP_CONNECTIONS
    config = {**app.config, "PAYMENTS_CONCURRENCY": 16, "WORKER_IO_CONCURRENCY": 8}
    commands = run.processes(config)
    assert "DATABASE_POOL_SIZE=32" in commands["payments"]
    assert "DATABASE_POOL_SIZE=8" in commands["io"]

"""Publishing an order's chain leaves nothing behind in the publishing process.

A Celery group in a chain builds a GroupResult wherever the chain is applied (the API relaying
the outbox, a worker reaching the group); it registers each member as a pending result with the
Redis result backend and subscribes to the member's channel. The order steps keep no result,
so those registrations were never released: two per order, for the life of every API and
worker process (tasks/chains)."""

from __future__ import annotations

import uuid

from tasks import chains


def _pending(backend) -> int:
    concrete, weak = backend._pending_results
    return len(concrete) + len(weak)


def test_order_chains_register_no_pending_results(app):
    celery_app = app.extensions["celery"]
    backend = celery_app.backend
    before = _pending(backend)
    for _ in range(5):
        # freeze() is what apply_async does to every task of the chain before sending it.
        chains.order_placement_chain(celery_app, str(uuid.uuid4())).freeze()
        chains.payment_resumed_chain(celery_app, str(uuid.uuid4())).freeze()
    assert _pending(backend) == before


def test_the_confirm_task_sends_the_mail_and_the_shipment_side_by_side(app):
    order_id = str(uuid.uuid4())
    follow_ups = chains.after_confirmation(app.extensions["celery"], order_id)
    assert [(s.task, s.args) for s in follow_ups] == [
        (chains.SEND_ORDER_EMAIL, (order_id, "confirmed")),
        (chains.REQUEST_SHIPMENT, (order_id,)),
    ]

"""The order placement steps as Celery tasks: each fetches by id and calls one service step.

Task names carry their queue (tasks.<queue>.<name>), so the flow's steps live here together
even though they run on the orders, payments, email and search queues."""

from __future__ import annotations

import functools
import logging
import uuid

import redis
import sqlalchemy.exc
from celery import shared_task

from services.notifications.email import TransientEmailError
from services.orders import lifecycle as orders
from services.orders import outcomes
from services.orders import placement as order_placement
from services.orders.placement import Outcome, StepResult
from tasks.chains import after_confirmation, send_recorded

log = logging.getLogger(__name__)

# Infrastructure hiccups are retried with exponential backoff; anything else is a bug or a
# domain answer and is not. Exhausted retries land in the failed-task store.
TRANSIENT_ERRORS = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    ConnectionError,
    TimeoutError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    TransientEmailError,
)
STEP_RETRY = {
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": 1,
    "retry_backoff_max": 60,
    "retry_jitter": True,
    "max_retries": 8,
    # Steps pass nothing on (immutable signatures) and nobody waits on them: skip the
    # result backend, one Redis round trip less per hop.
    "ignore_result": True,
}


def _carry_on(task, order_id: uuid.UUID, result: StepResult, name: str) -> str | dict:
    send_recorded(task.app, result.outbox_ids)
    answer = outcomes.after_step(order_id, name, result)
    if result.outcome is Outcome.STOP:
        task.request.chain = None  # the flow ends here (rejected, declined, awaiting action)
        _keep_result(task, answer)
    return answer


def _keep_result(task, answer: dict) -> None:
    """Steps ignore their results, except the one that stops a flow: its reason is kept in
    the result backend (and shown by Flower) so a stopped order does not look like a plain
    success."""
    try:
        task.backend.store_result(task.request.id, answer, "SUCCESS", request=task.request)
    except Exception:  # the reason is in the logs and on the order; the result is a courtesy
        log.warning("could not store the result of %s", task.name, exc_info=True)


def _run(task, step, order_id: str, name: str | None = None) -> str | dict:
    """Run one step (``name``: the timeline's step, by default the task's own)."""
    name = name or task.name.rsplit(".", 1)[-1]
    try:
        return _carry_on(task, uuid.UUID(order_id), step(uuid.UUID(order_id)), name)
    except order_placement.OrderNotFound:
        log.warning("order %s does not exist; %s skipped", order_id, task.name)
        task.request.chain = None
        answer = outcomes.stopped(None, "order_not_found")
        _keep_result(task, answer)
        return answer


@shared_task(name="tasks.orders.reserve_stock", bind=True, **STEP_RETRY)
def reserve_stock(self, order_id: str) -> str | dict:
    """Hold the order's stock, or reject the order."""
    return _run(self, order_placement.reserve_stock, order_id)


@shared_task(name="tasks.payments.capture_payment", bind=True, **STEP_RETRY)
def capture_payment(self, order_id: str) -> str | dict:
    """Charge the order through the payment provider."""
    return _run(self, order_placement.capture_payment, order_id)


@shared_task(name="tasks.orders.confirm_order", bind=True, **STEP_RETRY)
def confirm_order(self, order_id: str) -> str | dict:
    """Turn held stock into sold stock and confirm the order; then, in this same task (it
    always follows on this queue and only writes to the database), record the books to
    reindex, and send the confirmation mail and the shipment request. Each step is its own
    transaction and timeline row; a retry re-runs the finished ones as no-ops."""
    for name, step in (
        ("confirm_order", order_placement.confirm_order),
        ("reindex_books", order_placement.reindex_books),
    ):
        answer = _run(self, step, order_id, name)
        if answer != Outcome.CONTINUE.value:
            return answer
    # The mail and the shipment, each its own message (not a group: see tasks/chains). A
    # redelivered confirm sends them again; both steps are idempotent.
    for follow_up in after_confirmation(self.app, order_id):
        follow_up.apply_async()
    return answer


def _shipment_step():
    from flask import current_app

    from services.shipping import carriers

    carrier = carriers.build(current_app.config["CARRIER"], current_app.config)
    return functools.partial(order_placement.request_shipment, carrier=carrier)


@shared_task(name="tasks.orders.request_shipment", bind=True, **STEP_RETRY)
def request_shipment(self, order_id: str) -> str | dict:
    """Create the shipment of a confirmed order with the configured carrier (beside the
    confirmation mail, so a carrier that is down never holds the mail back)."""
    return _run(self, _shipment_step(), order_id)


@shared_task(name="tasks.email.send_order_email", bind=True, **STEP_RETRY)
def send_order_email(self, order_id: str, event: str) -> str | dict:
    """Email the shopper about an order event (confirmed, rejected, payment_failed, ...)."""
    from services.notifications.events import unsent_outbox_ids

    if event == "confirmed":
        step = functools.partial(
            order_placement.confirmation_email_step,
            send=functools.partial(orders.send_email, event="confirmed"),
        )
        outcome = _run(self, step, order_id)
    else:
        orders.send_email(uuid.UUID(order_id), event)
        outcome = Outcome.CONTINUE.value
    # A shopper with an account is told through the dispatcher: send what send_email recorded.
    send_recorded(self.app, unsent_outbox_ids(f"order:{order_id}:{event}"))
    return outcome

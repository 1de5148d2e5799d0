"""The payment step without the order lock over the network.

    1. lock the order, record the intent (a pending payment row for this attempt), commit;
    2. ask the provider, no transaction open (idempotency key ``order-<id>-authorize-<n>``);
    3. lock the order again and apply the answer, once, if the order still waits for it.

Only one run of the step talks to the provider at a time: a PostgreSQL session advisory lock
on a connection of its own (released by the server when a killed worker's connection drops,
so a redelivered task goes on at once). A second run finds it taken and retries later."""

from __future__ import annotations

import contextlib
import functools
import logging
import uuid
from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import func, select

from models import OrderStatus, StepStatus, db
from services import payments
from services.orders import placement
from services.orders.placement import FINISHED_STEP, Outcome, StepResult
from services.payments import review
from services.payments.base import Authorization, PaymentStatus, ProviderResult

log = logging.getLogger(__name__)

STEP = "capture_payment"
# pg_advisory_lock(classid, objid): the class names this lock among the project's others.
PAYMENT_CALL_LOCK_CLASS = 0x70617931  # "pay1"


class PaymentCallInProgress(ConnectionError):
    """Another run of this order's payment step is calling the provider right now: retry
    (transient, so the task's retry policy applies)."""


@contextlib.contextmanager
def provider_call_guard(order_id: uuid.UUID) -> Iterator[None]:
    """Hold the order's payment-call lock for the block, or raise PaymentCallInProgress."""
    key = (PAYMENT_CALL_LOCK_CLASS, func.hashtext(str(order_id)))
    bind = db.session.get_bind()
    engine = getattr(bind, "engine", bind)
    # Autocommit: a session-level lock outlives transactions, so none is opened around the
    # two calls (no BEGIN and COMMIT round trips, nothing left open across the provider call).
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as guard:
        taken = guard.scalar(select(func.pg_try_advisory_lock(*key)))
        if not taken:
            raise PaymentCallInProgress(f"the payment of order {order_id} is being made")
        try:
            yield
        finally:
            guard.scalar(select(func.pg_advisory_unlock(*key)))


def _continue_if_pending(order) -> StepResult:
    going_on = order.status == OrderStatus.PENDING and not review.in_review(order)
    return StepResult(Outcome.CONTINUE if going_on else Outcome.STOP)


def _prepare(order, step, started: datetime) -> StepResult | Authorization:
    if step.status in FINISHED_STEP:
        return _continue_if_pending(order)
    if order.status != OrderStatus.PENDING:
        return StepResult(Outcome.STOP)
    request = payments.prepare_authorization(order)
    if request is None:  # answered by an earlier run whose step was not finished
        return _settle_answered(order, step, started)
    step.status = StepStatus.RUNNING
    step.started_at = started
    return request


def _settle(request: Authorization, answer: ProviderResult, order, step, started: datetime):
    payment = order.payment
    if step.status in FINISHED_STEP:
        return _continue_if_pending(order)
    still_waiting = (
        payment is not None
        and payment.attempt == request.attempt
        and payment.status == PaymentStatus.PENDING
    )
    if not still_waiting:
        return StepResult(Outcome.STOP)
    payments.apply(payment, answer)
    if order.status != OrderStatus.PENDING:
        # Cancelled or expired while the provider answered: drop the hold just made (rare,
        # so this one provider call under the lock is accepted).
        payments.void(order)
        log.warning("order %s left pending during its authorisation; hold voided", order.id)
        return StepResult(Outcome.STOP)
    # The step's times span the provider call (started when the intent was recorded).
    return _settle_answered(order, step, step.started_at or started)


def _settle_answered(order, step, started: datetime) -> StepResult:
    payment = order.payment
    if payment.status in payments.HELD:
        placement._finish(step, StepStatus.SUCCEEDED, started)
        if review.hold_if_risky(order):  # Radar: staff approve or reject it first
            return StepResult(Outcome.STOP, detail={"risk_level": payment.risk_level})
        return StepResult(Outcome.CONTINUE)
    if payment.status == PaymentStatus.REQUIRES_ACTION:
        # Stock stays held until the payment deadline; a provider webhook, the poller or
        # the shopper's retry finishes the order.
        order.status = OrderStatus.AWAITING_PAYMENT
        order.status_reason = "requires_action"
        step.attempts += 1
        step.started_at = started
        step.error = payments.step_error(
            "requires_action", "Waiting for the shopper to authenticate the payment."
        )
        return StepResult(
            Outcome.STOP, [placement.email_later(order.id, "payment_action_required")]
        )
    if payment.status == PaymentStatus.PENDING:
        return StepResult(Outcome.STOP)  # still processing at the provider: the poller settles
    return StepResult(Outcome.STOP, [placement.decline_payment(order, step, started)])


def run(order_id: uuid.UUID) -> StepResult:
    """The payment step (``placement.capture_payment``): record, call, apply."""
    with provider_call_guard(order_id):
        prepared = placement.run_step(order_id, STEP, _prepare)
        if isinstance(prepared, StepResult):
            return prepared
        started = placement._now()
        try:
            answer = payments.provider().authorize(prepared)
        except Exception as exc:
            db.session.rollback()
            placement.record_failed_attempt(order_id, STEP, started, exc)
            raise
        return placement.run_step(order_id, STEP, functools.partial(_settle, prepared, answer))

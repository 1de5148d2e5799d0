"""The safety net behind the webhooks: orders whose payment has been waiting (3-D Secure not
finished, or an answer never applied) for longer than a few minutes are settled from the
PaymentIntent's state at the provider, or expired once their payment deadline passed.

The provider is asked with no lock held; the order is then locked and moved only forward,
and only if its payment is still the attempt that was asked about."""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from models import Order, OrderStatus, Payment, StepStatus, db
from services import outbox, payments
from services.orders import lifecycle, placement
from services.payments import review
from services.payments.base import PaymentProviderUnavailable, PaymentStatus, ProviderResult

log = logging.getLogger(__name__)

WAITING = (OrderStatus.PENDING, OrderStatus.AWAITING_PAYMENT)
UNANSWERED = (PaymentStatus.PENDING, PaymentStatus.REQUIRES_ACTION)
DEFAULT_STUCK_AFTER = timedelta(minutes=5)


def _now() -> datetime:
    return datetime.now(UTC)


def stuck_payments(now: datetime, stuck_after: timedelta, limit: int) -> list[tuple]:
    """(order id, provider ref, attempt) of waiting orders whose payment has not moved."""
    return list(
        db.session.execute(
            select(Order.id, Payment.provider_ref, Payment.attempt)
            .join(Payment, Payment.order_id == Order.id)
            .where(
                Order.status.in_(WAITING),
                Payment.status.in_([status.value for status in UNANSWERED]),
                Payment.updated_at < now - stuck_after,
            )
            .order_by(Payment.updated_at)
            .limit(limit)
        )
    )


def settle_stuck_payments(
    now: datetime | None = None, stuck_after: timedelta = DEFAULT_STUCK_AFTER, limit: int = 200
) -> tuple[Counter, list[int]]:
    """Settle each stuck payment. Returns counts by outcome and outbox ids to send. Commits."""
    now = now or _now()
    candidates = stuck_payments(now, stuck_after, limit)
    db.session.commit()
    counts: Counter = Counter(checked=len(candidates))
    outbox_ids: list[int] = []
    gateway = payments.provider()
    for order_id, provider_ref, attempt in candidates:
        state = None
        if provider_ref is not None:
            try:
                state = gateway.retrieve(provider_ref)
            except PaymentProviderUnavailable as exc:
                log.warning("payment of order %s not checked: %s", order_id, exc)
                counts["unreachable"] += 1
                continue
        outcome, ids = settle(order_id, provider_ref, attempt, state, now)
        counts[outcome] += 1
        outbox_ids += ids
    return counts, outbox_ids


def settle(
    order_id: uuid.UUID,
    provider_ref: str | None,
    attempt: int,
    state: ProviderResult | None,
    now: datetime,
) -> tuple[str, list[int]]:
    """Apply the provider's ``state`` (None: we never heard back) to one order. Commits."""
    order = placement.lock_order(order_id)
    payment = order.payment
    if (
        order.status not in WAITING
        or payment is None
        or payment.attempt != attempt
        or payment.provider_ref != provider_ref
        or payment.status not in UNANSWERED
    ):
        db.session.commit()
        return "moved_on", []
    outcome, outbox_ids = _apply(order, state, now)
    db.session.commit()
    if outcome in ("failed", "cancelled", "expired"):
        placement.catalog_cache.stock_changed()
    return outcome, outbox_ids


def _apply(order: Order, state: ProviderResult | None, now: datetime) -> tuple[str, list[int]]:
    payment = order.payment
    step = next(step for step in order.steps if step.step == "capture_payment")
    if state is not None and state.status in payments.HELD:
        payments.apply(payment, state)
        payment.next_action = None
        step.status, step.error, step.finished_at = StepStatus.SUCCEEDED, None, _now()
        step.attempts += 1
        order.status, order.status_reason = OrderStatus.PENDING, None
        if review.hold_if_risky(order):
            return "held_for_review", []
        message = outbox.record(outbox.PAYMENT_RESUMED, {"order_id": str(order.id)})
        db.session.flush()
        return "resumed", [message.id]
    if state is not None and state.status == PaymentStatus.FAILED:
        payments.apply(payment, state)
        return "failed", [placement.decline_payment(order, step, _now())]
    if state is not None and state.status == PaymentStatus.VOIDED:
        payment.status = PaymentStatus.VOIDED.value
        placement.inventory.release(order.id, reason="payment_failed")
        step.status, step.finished_at = StepStatus.FAILED, _now()
        step.error = payments.step_error("payment_canceled", "The payment was cancelled.")
        email = placement.fail_order(order, OrderStatus.CANCELLED, "payment_canceled", "cancelled")
        return "cancelled", [email]
    if order.payment_deadline < now:
        # As the expiry job would (stock released, hold voided, shopper told), now.
        return "expired", lifecycle._withdraw(order, "payment_timeout")
    if state is None and order.status == OrderStatus.PENDING:
        # The answer never reached us (a worker lost, the provider unreachable until the
        # step's retries ran out): run the flow again; every step is idempotent and the
        # provider call reuses this attempt's idempotency key.
        message = outbox.record(outbox.ORDER_PLACED, {"order_id": str(order.id)})
        db.session.flush()
        return "restarted", [message.id]
    return "waiting", []

"""Money back: staff refunds (full or partial) recorded, then made through the provider by a
task with one idempotency key per refund."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

from sqlalchemy import func, select

from models import OrderStatus, Refund, db
from models.orders import order_number
from services import outbox, payments
from services.catalog import cache as catalog_cache
from services.errors import Conflict
from services.inventory import stock as inventory
from services.observability import metrics
from services.orders import placement
from services.payments.base import PaymentStatus

REFUNDABLE = (PaymentStatus.CAPTURED, PaymentStatus.PARTIALLY_REFUNDED)
log = logging.getLogger(__name__)


class NotRefundable(Conflict):
    """Only a captured payment can be refunded."""

    error = "not_refundable"


class OverRefund(Conflict):
    """That is more than what is left to refund on this order."""

    error = "over_refund"


def _pending_cents(order_id: uuid.UUID) -> int:
    return db.session.scalar(
        select(func.coalesce(func.sum(Refund.amount_cents), 0)).where(
            Refund.order_id == order_id, Refund.status == "pending"
        )
    )


def request_refund(
    order_id: uuid.UUID,
    amount_cents: int | None,
    reason: str,
    restock: bool,
    requested_by: uuid.UUID | None,
) -> tuple[Refund, list[int]]:
    """Record a refund of ``amount_cents`` (default: all that is left) and its task. Commits."""
    order = placement.lock_order(order_id)
    payment = order.payment
    if payment is None or payment.status not in REFUNDABLE:
        db.session.rollback()
        raise NotRefundable()
    left = payment.amount_cents - payment.refunded_cents - _pending_cents(order.id)
    amount = left if amount_cents is None else amount_cents
    if amount <= 0 or amount > left:
        db.session.rollback()
        raise OverRefund(f"At most {max(left, 0)} cents can still be refunded.", left_cents=left)
    refund = Refund(
        order_id=order.id,
        amount_cents=amount,
        reason=reason,
        restock=restock,
        status="pending",
        requested_by=requested_by,
    )
    db.session.add(refund)
    db.session.flush()
    message = outbox.record(outbox.PAYMENT_REFUND, {"refund_id": str(refund.id)})
    db.session.commit()
    return refund, [message.id]


def make_refund(refund_id: uuid.UUID) -> list[int]:
    """The refund task's step: refund at the provider once, record it, restock, mail the
    shopper. Idempotent (a finished refund is left alone). Commits."""
    refund = db.session.get(Refund, refund_id)
    if refund is None:
        return []
    order = placement.lock_order(refund.order_id)
    db.session.refresh(refund, with_for_update=True)
    if refund.status != "pending":
        db.session.commit()
        return []
    payment = order.payment
    result = payments.provider().refund(
        payment.provider_ref, refund.amount_cents, f"refund-{refund.id}"
    )
    payment.refunded_cents = min(
        payment.refunded_cents + result.amount_refunded, payment.amount_cents
    )
    full = payment.refunded_cents >= payment.amount_cents
    payment.status = (PaymentStatus.REFUNDED if full else PaymentStatus.PARTIALLY_REFUNDED).value
    refund.status = "succeeded"
    refund.provider_ref = result.provider_ref
    refund.finished_at = datetime.now(UTC)
    if refund.restock:
        inventory.restock(order.id)
    if full and order.status in placement.CONFIRMED_OR_LATER:
        order.status = OrderStatus.REFUNDED
        order.status_reason = refund.reason[:64]
    email = placement.email_later(order.id, f"refunded:{refund.id}")
    refunded_order = order.status == OrderStatus.REFUNDED
    fields = {
        "order_id": str(order.id),
        "order_number": order_number(order.number),
        "refund_id": str(refund.id),
        "event": "order_refunded" if refunded_order else "order_partially_refunded",
    }
    db.session.commit()
    # Logged and counted once: a redelivered refund task finds the refund finished above.
    log.info("refund of %d cents made", refund.amount_cents, extra=fields)
    if refunded_order:
        metrics.ORDERS.labels(str(OrderStatus.REFUNDED)).inc()
    if refund.restock:
        catalog_cache.stock_changed()
    return [email]

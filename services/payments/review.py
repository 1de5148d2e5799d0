"""Radar: an order whose charge Stripe rates ``elevated`` or ``highest`` risk is held
(``status_reason: review``) with its money authorised, until staff approve it (the flow goes
on and captures) or reject it (the hold is voided, the stock released). Audited."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from models import Order, OrderStatus, StockReservation, db
from services import outbox, payments
from services.errors import Conflict
from services.inventory import stock as inventory
from services.ops import audit
from services.orders import placement

REVIEW = "review"
RISKY = ("elevated", "highest")
# Stripe keeps a card authorisation for 7 days: staff have this long to decide.
REVIEW_HOLD = timedelta(days=3)
DECISIONS = ("approve", "reject")


class OrderNotInReview(Conflict):
    """Only an order held for review can be approved or rejected."""

    error = "order_not_in_review"


def in_review(order: Order) -> bool:
    return order.status == OrderStatus.PENDING and order.status_reason == REVIEW


def hold_if_risky(order: Order) -> bool:
    """Hold an authorised order whose charge is risky: its payment deadline and stock hold
    are extended for staff to decide. Returns whether it was held. Does not commit."""
    if (order.payment.risk_level or "") not in RISKY:
        return False
    deadline = datetime.now(UTC) + REVIEW_HOLD
    order.status_reason = REVIEW
    order.payment_deadline = deadline
    db.session.execute(
        update(StockReservation)
        .where(StockReservation.order_id == order.id, StockReservation.status == "held")
        .values(expires_at=deadline)
    )
    return True


def decide(
    order_id: uuid.UUID, decision: str, actor_id: uuid.UUID, note: str | None
) -> tuple[Order, list[int]]:
    """Staff's decision on a held order. Commits."""
    order = placement.lock_order(order_id)
    if not in_review(order):
        db.session.rollback()
        raise OrderNotInReview(f"An order that is {order.status} is not held for review.")
    before = {"status": order.status, "status_reason": order.status_reason}
    if decision == "approve":
        order.status_reason = None
        message = outbox.record(outbox.PAYMENT_RESUMED, {"order_id": str(order.id)})
        db.session.flush()
        outbox_ids = [message.id]
    else:
        payments.void(order)  # staff's click, rare: the provider call under the lock is fine
        inventory.release(order.id, reason="cancel")
        outbox_ids = [
            placement.fail_order(order, OrderStatus.CANCELLED, "review_rejected", "cancelled")
        ]
    audit.record(
        actor_id,
        f"review_{decision}",
        "order",
        order.id,
        before=before,
        after={
            "status": order.status,
            "status_reason": order.status_reason,
            "risk_level": order.payment.risk_level,
            "note": note,
        },
    )
    db.session.commit()
    placement.catalog_cache.stock_changed()
    return order, outbox_ids

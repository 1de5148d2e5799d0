"""What a placement step's result means to operators, once its transaction committed:
the domain outcome logged once (rejected, declined, awaiting action, cancelled, confirmed),
the business counters, and the result a stopped step finishes with (shown by Flower)."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import NamedTuple

from sqlalchemy import select

from models import Order, OrderStatus, db
from models.orders import order_number
from services.observability import metrics
from services.orders.placement import Outcome, StepResult

log = logging.getLogger("bookstore.orders")

STOPPED = "stopped"


class ConfirmedOrder(NamedTuple):
    created_at: datetime
    number: int | None


def stopped(order_status: str | None, reason: str | None) -> dict:
    """The result of a step that ended the order's flow for a business reason."""
    return {"outcome": STOPPED, "order_status": order_status, "reason": reason}


def after_step(order_id: uuid.UUID, step: str, result: StepResult) -> str | dict:
    """Log and count what the committed step did; the task's return value."""
    if result.outcome is Outcome.CONTINUE:
        if step == "confirm_order":
            _confirmed(order_id, result.detail)
        return result.outcome.value
    row = db.session.execute(
        select(Order.status, Order.status_reason, Order.number).where(Order.id == order_id)
    ).one_or_none()
    db.session.commit()  # end the read's transaction (the task holds no lock after this)
    if row is None:
        return stopped(None, "order_not_found")
    status, reason = str(row.status), row.status_reason
    # A step that changed the order records its email: only then is this the first report
    # (a redelivered step that finds the order already settled stays quiet).
    if result.outbox_ids or status == OrderStatus.AWAITING_PAYMENT:
        _report_stop(order_id, order_number(row.number), status, reason, result.detail)
    return stopped(status, reason or status)


def _report_stop(
    order_id: uuid.UUID, number: str | None, status: str, reason: str | None, detail: dict
) -> None:
    fields = {
        "order_id": str(order_id),
        "order_number": number,
        "order_status": status,
        "reason": reason,
    }
    if status == OrderStatus.REJECTED:
        metrics.STOCK_RESERVATION_REJECTIONS.inc()
        short = detail.get("short") or []
        log.warning(
            "order rejected: %d book(s) short of stock",
            len(short),
            extra={**fields, "event": "order_rejected", "short": short},
        )
    elif status == OrderStatus.PAYMENT_FAILED:
        metrics.PAYMENT_DECLINES.labels(reason or "unknown").inc()
        log.warning("payment declined (%s)", reason, extra={**fields, "event": "payment_declined"})
    elif status == OrderStatus.AWAITING_PAYMENT:
        log.info("payment awaiting customer action", extra={**fields, "event": "awaiting_action"})
        return
    else:
        log.warning("order %s (%s)", status, reason, extra={**fields, "event": f"order_{status}"})
    metrics.ORDERS.labels(status).inc()


def _confirmed(order_id: uuid.UUID, detail: dict) -> None:
    # The step that confirmed the order passes what the report needs (no read back); a
    # redelivered step that found it confirmed already passes nothing.
    if "created_at" in detail:
        row = ConfirmedOrder(detail["created_at"], detail["number"])
    else:
        row = db.session.execute(
            select(Order.created_at, Order.number).where(Order.id == order_id)
        ).one_or_none()
        db.session.commit()
    metrics.ORDERS.labels(str(OrderStatus.CONFIRMED)).inc()
    if row is not None:
        created_at = row.created_at
        elapsed = (datetime.now(UTC) - created_at).total_seconds()
        metrics.CHECKOUT_TO_CONFIRMED.observe(elapsed)
        log.info(
            "order confirmed %.2fs after checkout",
            elapsed,
            extra={
                "order_id": str(order_id),
                "order_number": order_number(row.number),
                "event": "order_confirmed",
            },
        )

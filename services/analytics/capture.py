"""Domain events written in the same transaction as the change they describe.

A ``before_flush`` hook on the session factory watches what the services already do through
the ORM: a new user (``user_registered``), a new order (``order_placed``) and an order's
status moving to confirmed, cancelled, refunded or delivered. The event rows flush with the
change, so they exist if and only if it commits; ``domain_events`` is then the outbox the
publisher drains into the ``events`` exchange. (Bulk ``UPDATE`` statements bypass the ORM and
emit nothing: services change order status through the ORM.)"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import event, inspect

from models import DomainEvent, Order, OrderStatus, User, db

SCHEMA_VERSION = 1
STATUS_EVENTS = {
    OrderStatus.CONFIRMED.value: "order_confirmed",
    OrderStatus.CANCELLED.value: "order_cancelled",
    OrderStatus.REFUNDED.value: "order_refunded",
    OrderStatus.DELIVERED.value: "order_delivered",
}
# Statuses in which the order's money had been taken (a cancellation from these refunds it).
PAID = (OrderStatus.CONFIRMED.value, OrderStatus.SHIPPED.value, OrderStatus.DELIVERED.value)


def _order_body(order: Order) -> dict:
    return {
        "order_id": str(order.id),
        "user_id": str(order.user_id) if order.user_id else None,
        "currency": order.currency,
        "total_cents": order.total_cents,
        "lines": [
            {
                "book_id": str(line.book_id),
                "title": line.title,
                "quantity": line.quantity,
                "line_total_cents": line.line_total_cents,
            }
            for line in order.lines
        ],
    }


def _event(session, kind: str, aggregate_id, payload: dict) -> None:
    session.add(
        DomainEvent(
            event_id=uuid.uuid4(),
            type=kind,
            schema_version=SCHEMA_VERSION,
            aggregate_id=str(aggregate_id),
            occurred_at=datetime.now(UTC),
            payload=payload,
        )
    )


def _status_change(order: Order) -> tuple[str | None, str] | None:
    history = inspect(order).attrs.status.history
    if not history.added:
        return None
    old = str(history.deleted[0]) if history.deleted else None
    return old, str(history.added[0])


def _before_flush(session, flush_context, instances) -> None:
    for obj in list(session.new):
        if isinstance(obj, User):
            obj.id = obj.id or uuid.uuid4()
            _event(session, "user_registered", obj.id, {"user_id": str(obj.id), "role": obj.role})
        elif isinstance(obj, Order):
            obj.id = obj.id or uuid.uuid4()
            _event(
                session,
                "order_placed",
                obj.id,
                {"order_id": str(obj.id), "currency": obj.currency, "total_cents": obj.total_cents},
            )
    for obj in list(session.dirty):
        if not isinstance(obj, Order):
            continue
        change = _status_change(obj)
        if change is None or change[1] not in STATUS_EVENTS or change[0] == change[1]:
            continue
        old, new = change
        body = _order_body(obj)
        if new == OrderStatus.CANCELLED.value:
            body["refunded_cents"] = obj.total_cents if old in PAID else 0
            body["reason"] = obj.status_reason
        if new == OrderStatus.REFUNDED.value:
            body["refunded_cents"] = obj.total_cents
        body["previous_status"] = old
        _event(session, STATUS_EVENTS[new], obj.id, body)


def install() -> None:
    """Hook the capture into every session the shared factory makes (idempotent)."""
    if not event.contains(db.session_factory, "before_flush", _before_flush):
        event.listen(db.session_factory, "before_flush", _before_flush)

"""The transactional outbox: work recorded with the change that needs it, sent after commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from models import OutboxMessage, db
from services.observability import context as log_context
from services.observability import tracing

ORDER_PLACED = "order_placed"
ORDER_EMAIL = "order_email"
SHIPMENT_EVENTS = "shipment_events"  # apply a shipment's new carrier events
STAFF_ALERT = "staff_alert"  # mail staff about a shipment exception
NOTIFY = "notify"  # fan a notification event out to its channels
# Payments (issue 9): a provider event to apply, and an order to resume after authentication.
PAYMENT_EVENT = "payment_event"
PAYMENT_RESUMED = "payment_resumed"
PAYMENT_REFUND = "payment_refund"
_RECORDED = "outbox_recorded"  # session.info: the messages recorded through this session


def record(kind: str, payload: dict) -> OutboxMessage:
    """Add a message to the current transaction (it exists only if that transaction commits)."""
    request_id = log_context.get("request_id")
    headers = {log_context.REQUEST_ID_HEADER: request_id} if request_id else {}
    headers.update(tracing.carrier())  # a relayed message joins the trace that recorded it
    headers = headers or None
    message = OutboxMessage(kind=kind, payload=payload, headers=headers)
    db.session.add(message)
    # Kept for the send after commit, which then needs no SELECT to read it back.
    db.session.info.setdefault(_RECORDED, []).append(message)
    return message


def recorded(message_ids: Sequence[int]) -> list[OutboxMessage]:
    """The messages with these ids: those this session recorded (and committed) as they are,
    the others read from the database."""
    held = {message.id: message for message in db.session.info.pop(_RECORDED, [])}
    found = [held[message_id] for message_id in message_ids if message_id in held]
    missing = [message_id for message_id in message_ids if message_id not in held]
    if missing:
        found += db.session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(missing)))
    return found


def mark_sent(message_ids: Sequence[int]) -> None:
    if message_ids:
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(message_ids), OutboxMessage.sent_at.is_(None))
            .values(sent_at=datetime.now(UTC), attempts=OutboxMessage.attempts + 1)
        )


def mark_failed(message_id: int, error: str) -> None:
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(attempts=OutboxMessage.attempts + 1, last_error=error[:2000])
    )


def claim_due(older_than_seconds: int, limit: int = 500) -> list[OutboxMessage]:
    """Unsent messages recorded at least ``older_than_seconds`` ago, locked for this relay
    run (a concurrent relay skips them)."""
    cutoff = datetime.now(UTC) - timedelta(seconds=older_than_seconds)
    return list(
        db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.sent_at.is_(None), OutboxMessage.created_at <= cutoff)
            .order_by(OutboxMessage.created_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )

"""Publishing domain events to the ``events`` fanout exchange on RabbitMQ.

Message format (schema_version 1), one AMQP message per event:
- exchange ``events`` (type fanout, durable); routing key empty; persistent;
  ``message_id`` = event_id; ``content_type`` = application/json;
  headers ``{"type": <event type>, "schema_version": 1}``.
- body (JSON): ``{"event_id": uuid, "type": str, "schema_version": 1, "aggregate_id": str,
  "occurred_at": ISO 8601 UTC, "payload": {...}}``; payloads: user_registered
  ``{user_id, role}``; order_placed ``{order_id, currency, total_cents}``; order_confirmed,
  order_delivered ``{order_id, user_id, currency, total_cents, lines: [{book_id, title,
  quantity, line_total_cents}], previous_status}``; order_cancelled and order_refunded add
  ``refunded_cents`` (and ``reason`` for cancellations).
Delivery is at least once (a crash between publishing and marking re-publishes): consumers
dedupe on ``event_id``. This exchange is where a Kafka bridge would attach."""

from __future__ import annotations

from datetime import UTC, datetime

from kombu import Exchange
from sqlalchemy import select

from models import DomainEvent, db

EVENTS_EXCHANGE = Exchange("events", type="fanout", durable=True)


def message_body(event: DomainEvent) -> dict:
    return {
        "event_id": str(event.event_id),
        "type": event.type,
        "schema_version": event.schema_version,
        "aggregate_id": event.aggregate_id,
        "occurred_at": event.occurred_at.isoformat(),
        "payload": event.payload,
    }


def publish_pending(producer, limit: int = 1000) -> int:
    """Publish unpublished events in id order with ``producer`` (a kombu Producer), marking
    them published. Concurrent publishers skip each other's rows. Commits."""
    events = list(
        db.session.scalars(
            select(DomainEvent)
            .where(DomainEvent.published_at.is_(None))
            .order_by(DomainEvent.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    for event in events:
        producer.publish(
            message_body(event),
            exchange=EVENTS_EXCHANGE,
            routing_key="",
            declare=[EVENTS_EXCHANGE],
            serializer="json",
            delivery_mode=2,
            message_id=str(event.event_id),
            headers={"type": event.type, "schema_version": event.schema_version},
            retry=False,
        )
        event.published_at = datetime.now(UTC)
    db.session.commit()
    return len(events)

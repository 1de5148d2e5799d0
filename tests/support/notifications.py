"""Notification events delivered in process, as the dispatcher and the channel tasks would."""

from __future__ import annotations

from sqlalchemy import select

from models import NotificationDelivery, db
from services.notifications import channels, events


def dispatch(key: str, config) -> dict[str, tuple[str, str | None]]:
    """Fan out the event recorded under ``key`` and deliver each channel; the delivery log by
    channel: {channel: (status, reason)}."""
    event_id = db.session.scalar(
        select(events.NotificationEvent.id).where(events.NotificationEvent.dedupe_key == key)
    )
    for delivery_id, _ in events.fan_out(event_id):
        channels.deliver(delivery_id, config)
    rows = db.session.execute(
        select(
            NotificationDelivery.channel, NotificationDelivery.status, NotificationDelivery.reason
        ).where(NotificationDelivery.event_id == event_id)
    ).all()
    return {channel: (status, reason) for channel, status, reason in rows}

"""Notification tasks (queue ``notifications``): one dispatcher per event fanning out to one
task per channel, each with its own retry policy; the back-in-stock sweep."""

from __future__ import annotations

import uuid

from celery import shared_task
from flask import current_app

from services.notifications import back_in_stock, channels, events, quiet_hours, sms, web_push
from services.notifications.email import TransientEmailError
from tasks.chains import send_recorded
from tasks.orders import TRANSIENT_ERRORS

# Per channel: (retry countdown base seconds, max retries).
CHANNEL_RETRY = {"email": (30, 6), "in_app": (2, 8), "sms": (60, 5), "web_push": (30, 5)}


@shared_task(name="tasks.notifications.dispatch", bind=True, max_retries=8)
def dispatch(self, event_id: str) -> int:
    """Fan one notification event out to its channels (idempotent)."""
    try:
        queued = events.fan_out(uuid.UUID(event_id))
    except TRANSIENT_ERRORS as exc:
        raise self.retry(exc=exc, countdown=2**self.request.retries) from exc
    for delivery_id, channel in queued:
        deliver.apply_async(args=(str(delivery_id),), kwargs={"channel": channel})
    return len(queued)


@shared_task(name="tasks.notifications.deliver", bind=True, max_retries=None)
def deliver(self, delivery_id: str, channel: str = "email") -> str | None:
    """Deliver one channel of a notification; retried per the channel's policy."""
    base, max_retries = CHANNEL_RETRY.get(channel, (30, 3))
    try:
        return channels.deliver(uuid.UUID(delivery_id), current_app.config)
    except (
        TransientEmailError,
        web_push.TransientPushError,
        *sms.TRANSIENT,
        *TRANSIENT_ERRORS,
    ) as exc:
        if self.request.retries >= max_retries:
            channels.record_gave_up(uuid.UUID(delivery_id), str(exc))
            return "failed"
        raise self.retry(exc=exc, countdown=base * 2**self.request.retries) from exc


@shared_task(name="tasks.notifications.release_held", bind=True)
def release_held(self) -> int:
    """Send the SMS and push held by quiet hours whose window has ended."""
    released = quiet_hours.release_due()
    for delivery_id, channel in released:
        deliver.apply_async(args=(str(delivery_id),), kwargs={"channel": channel})
    return len(released)


@shared_task(name="tasks.notifications.back_in_stock", bind=True)
def notify_back_in_stock(self) -> int:
    """Tell every shopper waiting for a book that is available again, once."""
    told, outbox_ids = back_in_stock.tell_waiting()
    send_recorded(self.app, outbox_ids)
    return told

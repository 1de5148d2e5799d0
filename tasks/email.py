"""Email delivery tasks (queue ``email``)."""

from __future__ import annotations

import uuid

from celery import shared_task
from flask import current_app

from services import notifications
from services.email import TransientEmailError


@shared_task(name="tasks.email.send_notification", bind=True, max_retries=None)
def send_notification(self, notification_id: str) -> str | None:
    """Send one queued notification; retry transient failures with exponential backoff.

    Retry policy from settings (EMAIL_RETRY_BASE_SECONDS * 2**n, EMAIL_MAX_RETRIES) so that
    operators and tests can tune it; after the last retry the notification is marked failed."""
    config = current_app.config
    try:
        notification = notifications.deliver(uuid.UUID(notification_id), config)
    except TransientEmailError as exc:
        if self.request.retries >= config["EMAIL_MAX_RETRIES"]:
            notifications.record_gave_up(uuid.UUID(notification_id), str(exc))
            return "failed"
        raise self.retry(
            exc=exc, countdown=config["EMAIL_RETRY_BASE_SECONDS"] * 2**self.request.retries
        ) from exc
    return notification.status if notification is not None else None


def enqueue(notification_ids) -> None:
    """Enqueue sending (call after the notifications were committed)."""
    for notification_id in notification_ids:
        send_notification.delay(str(notification_id))

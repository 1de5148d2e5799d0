"""Email delivery tasks (queue ``email``)."""

from __future__ import annotations

import logging
import uuid

from celery import shared_task
from flask import current_app
from kombu.exceptions import OperationalError

from services.notifications import delivery as notifications
from services.notifications.email import TransientEmailError

log = logging.getLogger(__name__)

# A notification never attempted this long after it was queued lost its message (the broker
# was down when it was enqueued): the relay enqueues it again.
STALE_AFTER_SECONDS = 300


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


@shared_task(name="tasks.email.requeue_unsent")
def requeue_unsent() -> int:
    """Relay: enqueue notifications that were committed but whose message never arrived."""
    ids = notifications.never_attempted(older_than_seconds=STALE_AFTER_SECONDS)
    enqueue(ids)
    return len(ids)


def enqueue(notification_ids) -> None:
    """Enqueue sending (call after the notifications were committed). A broker outage is
    logged, not raised: the request already succeeded and ``requeue_unsent`` catches up."""
    for notification_id in notification_ids:
        try:
            send_notification.delay(str(notification_id))
        except OperationalError as exc:
            log.warning("could not enqueue notification %s (relay will): %s", notification_id, exc)


@shared_task(name="tasks.email.mail_shipment_exception", bind=True, max_retries=8)
def mail_shipment_exception(self, shipment_event_id: int) -> int:
    """Mail staff about a carrier exception (once per event and staff member)."""
    from services.notifications import staff

    try:
        return staff.mail_shipment_exception(int(shipment_event_id))
    except TransientEmailError as exc:
        raise self.retry(exc=exc, countdown=30 * 2**self.request.retries) from exc

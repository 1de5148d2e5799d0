"""Notifications: the delivery log of every email, user preferences, and sending exactly once.

Flow: a service calls ``queue()`` inside its transaction; after commit the caller enqueues
``tasks.email.send_notification(id)``, which calls ``deliver()``. Tasks of other flows that
must send a message from inside their own task use ``send_once()``."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from models import Notification, NotificationPreference, NotificationStatus, User, db
from services import settings
from services.notifications.email import (
    PermanentEmailError,
    TransientEmailError,
    build_backend,
    render,
)
from services.notifications.email.rendering import UnknownTemplate, subject_of
from services.pagination import newest_first

log = logging.getLogger(__name__)

# Account mail and operational staff alerts go out whatever the preferences say.
ESSENTIAL_TEMPLATES = frozenset(
    {
        "verify_email",
        "password_reset",
        "low_stock_alert",
        "stock_drift_alert",
        "staff_shipment_exception",
        "payment_mismatch_alert",
        "payment_dispute_alert",
    }
)
# Template name prefix -> the preference that governs it; unknown prefixes count as order mail.
PREFERENCE_BY_PREFIX = {
    "order": "order_updates",
    "shipment": "order_updates",
    "payment": "order_updates",
    "marketing": "marketing",
    "promo": "marketing",
}
PREFERENCE_FIELDS = ("order_updates", "marketing")

__all__ = [
    "PermanentEmailError",
    "TransientEmailError",
    "deliver",
    "get_preferences",
    "list_for_user",
    "never_attempted",
    "queue",
    "record_gave_up",
    "send_once",
    "set_preferences",
]


def queue(
    to_email: str,
    template: str,
    context: dict,
    user_id: uuid.UUID | None = None,
    dedupe_key: str | None = None,
) -> Notification:
    """Add a queued notification to the session. The caller commits, then enqueues its id."""
    notification = Notification(**_queued(to_email, template, context, user_id, dedupe_key))
    db.session.add(notification)
    db.session.flush()
    return notification


def _queued(
    to_email: str, template: str, context: dict, user_id: uuid.UUID | None, dedupe_key: str | None
) -> dict:
    """The columns of a notification waiting to be sent."""
    return {
        "to_email": to_email,
        "template": template,
        "subject": _subject(template, context),
        "context": context,
        "user_id": user_id,
        "dedupe_key": dedupe_key,
        "status": NotificationStatus.QUEUED,
    }


def deliver(notification_id: uuid.UUID, config: Mapping) -> Notification | None:
    """Send a queued notification unless it is already settled. Idempotent. Commits.

    Returns the notification (None if it does not exist). A permanent failure is recorded as
    ``failed`` with ``last_error``; a transient failure is recorded (attempts, last_error) and
    re-raised as TransientEmailError for the caller to retry."""
    notification = db.session.scalars(
        select(Notification).where(Notification.id == notification_id).with_for_update()
    ).one_or_none()
    if notification is None:
        db.session.rollback()
        log.warning("notification %s does not exist; nothing to send", notification_id)
        return None
    if notification.status != NotificationStatus.QUEUED:
        db.session.rollback()
        return notification
    if not _wanted(notification):
        notification.status = NotificationStatus.SKIPPED
        notification.context = None
        db.session.commit()
        return notification
    notification.attempts += 1
    try:
        message = render(
            notification.template,
            notification.context or {},
            config["EMAIL_FROM"],
            notification.to_email,
        )
        message["X-Notification-ID"] = str(notification.id)
        provider_id = build_backend(config).send(message)
    except TransientEmailError as exc:
        notification.last_error = str(exc)[:2000]
        db.session.commit()
        log.warning(
            "email %s failed (attempt %d), will retry: %s",
            notification.id,
            notification.attempts,
            exc,
        )
        raise
    except (PermanentEmailError, UnknownTemplate) as exc:
        _fail(notification, str(exc))
        db.session.commit()
        log.error("email %s failed for good: %s", notification.id, exc)
        return notification
    notification.status = NotificationStatus.SENT
    notification.sent_at = datetime.now(UTC)
    notification.provider_message_id = provider_id[:256]
    notification.last_error = None
    notification.context = None  # may hold one-time links; not needed once sent
    db.session.commit()
    return notification


def record_gave_up(notification_id: uuid.UUID, error: str) -> None:
    """After the last retry of a transient failure: mark it failed so it is never lost silently."""
    notification = db.session.scalars(
        select(Notification).where(Notification.id == notification_id).with_for_update()
    ).one_or_none()
    if notification is not None and notification.status == NotificationStatus.QUEUED:
        _fail(notification, f"gave up after {notification.attempts} attempts: {error}")
    db.session.commit()


def send_once(
    dedupe_key: str,
    to_email: str,
    template: str,
    context: dict,
    user_id: uuid.UUID | None = None,
    config: Mapping | None = None,
) -> Notification:
    """Send the email identified by ``dedupe_key`` at most once, synchronously in the caller.

    Contract (for tasks of other flows, e.g. ``send_order_email``):
    - ``dedupe_key`` names the message for good (e.g. ``f"order:{order_id}:confirmed"``). The
      first call creates a notification record with it; later calls find that record.
    - If the record is already ``sent``, ``skipped`` (the user turned this kind of mail off, see
      PREFERENCE_BY_PREFIX) or ``failed``, nothing is sent again and the record is returned:
      a redelivered task never sends twice.
    - Otherwise the template (``services/templates/email/<template>.*``) is rendered with
      ``context`` (JSON-serialisable) and sent through the configured backend; the record ends
      ``sent`` or, on a permanent failure, ``failed`` with ``last_error``; returned either way.
    - A transient failure (connection refused, throttling) raises TransientEmailError after the
      attempt is recorded: the calling task should retry itself with backoff. When it runs out
      of retries it should call ``record_gave_up(notification.id, str(error))``.
    - Commits its own transaction: call it with no uncommitted work of your own in the session.
    - ``config`` defaults to the bound service settings' config (``services.settings``).
    """
    if config is None:
        config = settings.current().config
    db.session.execute(
        insert(Notification)
        .values(id=uuid.uuid4(), **_queued(to_email, template, context, user_id, dedupe_key))
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
    )
    db.session.commit()
    notification_id = db.session.scalar(
        select(Notification.id).where(Notification.dedupe_key == dedupe_key)
    )
    delivered = deliver(notification_id, config)
    assert delivered is not None
    return delivered


def never_attempted(older_than_seconds: int, limit: int = 500) -> list[uuid.UUID]:
    """Queued notifications nobody tried to send for a while (their message was lost)."""
    cutoff = datetime.now(UTC) - timedelta(seconds=older_than_seconds)
    return list(
        db.session.scalars(
            select(Notification.id)
            .where(Notification.status == NotificationStatus.QUEUED)
            .where(Notification.attempts == 0)
            .where(Notification.created_at < cutoff)
            .order_by(Notification.created_at)
            .limit(limit)
        )
    )


def list_for_user(
    user: User, limit: int = 20, cursor: str | None = None
) -> tuple[list[Notification], str | None]:
    """One page of the user's notifications, newest first, and the cursor of the next page."""
    query = select(Notification).where(Notification.user_id == user.id)
    page = newest_first(
        query, Notification.created_at, Notification.id, "notifications", limit, cursor
    )
    return page.items, page.next_cursor


def get_preferences(user: User) -> NotificationPreference:
    """The user's preferences (defaults when never set; not added to the session)."""
    preferences = db.session.get(NotificationPreference, user.id)
    return preferences or NotificationPreference(
        user_id=user.id, order_updates=True, marketing=False
    )


def set_preferences(user: User, values: Mapping[str, bool]) -> NotificationPreference:
    preferences = db.session.get(NotificationPreference, user.id)
    if preferences is None:
        preferences = NotificationPreference(user_id=user.id, order_updates=True, marketing=False)
        db.session.add(preferences)
    for field in PREFERENCE_FIELDS:
        if field in values:
            setattr(preferences, field, bool(values[field]))
    db.session.commit()
    return preferences


def _wanted(notification: Notification) -> bool:
    from services.notifications.events import DISPATCHED_TEMPLATES

    if notification.template in ESSENTIAL_TEMPLATES or notification.user_id is None:
        return True
    if notification.template in DISPATCHED_TEMPLATES:
        return True  # the dispatcher applied the user's per-channel preferences already
    preference = PREFERENCE_BY_PREFIX.get(notification.template.split("_")[0], "order_updates")
    stored = db.session.get(NotificationPreference, notification.user_id)
    if stored is None:
        return preference != "marketing"
    return bool(getattr(stored, preference))


def _fail(notification: Notification, error: str) -> None:
    notification.status = NotificationStatus.FAILED
    notification.last_error = error[:2000]


def _subject(template: str, context: dict) -> str:
    try:
        return subject_of(template, context)
    except Exception:  # a broken template is reported when sending, not when queueing
        return template

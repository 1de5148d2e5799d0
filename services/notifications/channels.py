"""The channels of a notification delivery: e-mail (through the e-mail log, which dedupes by
key) and in-app (the inbox). Each delivery is one row of the per-channel delivery log."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert

from models import (
    InAppNotification,
    NotificationDelivery,
    NotificationEvent,
    Order,
    User,
    db,
)
from services.errors import NotFound
from services.notifications import delivery as email_log
from services.notifications import quiet_hours
from services.notifications.events import EVENTS
from services.pagination import newest_first


class InAppNotificationNotFound(NotFound):
    """No such notification in your inbox."""

    error = "notification_not_found"


def _context(event: NotificationEvent, user: User) -> tuple[dict, str | None]:
    """The event's template variables and the in-app link."""
    own = event.context or {}
    context = {"name": user.name}
    link = None
    if "order_id" in own:
        from services.orders.lifecycle import email_context

        order = db.session.get(Order, uuid.UUID(own["order_id"]))
        if order is not None:
            context.update(email_context(order, user))
            context["short_id"] = str(order.id)[:8]
        link = f"/orders/{own['order_id']}"
    context.update(own)  # what the producer said wins (e.g. the carrier's exception text)
    if "book_id" in context:
        link = f"/books/{context['book_id']}"
    return context, link


def _email_key(event: NotificationEvent, kind, delivery: NotificationDelivery, context) -> str:
    """The e-mail log's dedupe key: the order mail's own key when the producer named one (one
    mail per refund), else the order event's shared key (a staff "ship" and the carrier's
    first scan send one mail), else this delivery's."""
    own = event.context or {}
    if own.get("email_key"):
        return own["email_key"]
    if kind.order_email and context.get("order_id"):
        return f"order:{context['order_id']}:{kind.order_email}"
    return delivery.dedupe_key


# Channels whose provider cannot dedupe for us (a text or a push sent twice reaches the user
# twice): one run at a time per delivery, holding a transaction-scoped advisory lock from the
# status check through the send to the settled row (the send happens inside the transaction).
CLAIMED_CHANNELS = frozenset({"sms", "web_push"})


def _claim(delivery_id: uuid.UUID) -> str:
    """The delivery's status once this transaction holds its lock; "sending" if another
    transaction holds it (a duplicate task running at the same time)."""
    key = int.from_bytes(delivery_id.bytes[:8], "big", signed=True)
    if not db.session.scalar(select(func.pg_try_advisory_xact_lock(key))):
        return "sending"
    # A fresh read: the run that held the lock before may have settled the row.
    return db.session.scalar(
        select(NotificationDelivery.status).where(NotificationDelivery.id == delivery_id)
    )


def deliver(delivery_id: uuid.UUID, config: Mapping) -> str | None:
    """Deliver one queued delivery on its channel. Idempotent (a settled delivery is left
    alone; each channel dedupes its own sending). Commits. Returns the delivery's status."""
    row = db.session.execute(
        select(NotificationDelivery, NotificationEvent)
        .join(NotificationEvent, NotificationEvent.id == NotificationDelivery.event_id)
        .where(NotificationDelivery.id == delivery_id)
    ).one_or_none()
    if row is None:
        db.session.rollback()
        return None
    delivery, event = row
    if delivery.status != "queued":
        db.session.rollback()
        return delivery.status
    if delivery.channel in CLAIMED_CHANNELS:
        status = _claim(delivery_id)
        if status != "queued":  # settled meanwhile, or being sent by another run right now
            db.session.rollback()
            return status
    user = db.session.get(User, delivery.user_id)
    kind = EVENTS[event.event]
    if (
        delivery.channel in quiet_hours.HELD_CHANNELS
        and not kind.urgent
        and delivery.hold_until is None  # held once already: its window is over
    ):
        until = quiet_hours.held_until(user.id, datetime.now(UTC))
        if until is not None:
            delivery.status, delivery.hold_until = "held", until
            db.session.commit()
            return "held"
    context, link = _context(event, user)
    if delivery.channel == "email":
        key = _email_key(event, kind, delivery, context)
        db.session.commit()
        try:
            sent = email_log.send_once(
                key, user.email, kind.template, context, user_id=user.id, config=config
            )
        except email_log.TransientEmailError as exc:
            _settle(delivery_id, None, str(exc))
            raise
        return _settle(delivery_id, str(sent.status), sent.last_error)
    if delivery.channel == "in_app":
        values = defaultdict(str, context)
        db.session.execute(
            insert(InAppNotification)
            .values(
                id=uuid.uuid4(),
                user_id=user.id,
                delivery_id=delivery.id,
                event=event.event,
                title=kind.title.format_map(values)[:200],
                body=kind.body.format_map(values),
                link=link,
            )
            .on_conflict_do_nothing(index_elements=["delivery_id"])
        )
        db.session.commit()
        return _settle(delivery_id, "sent", None)
    if delivery.channel == "sms":
        from services.notifications import sms

        phone = sms.verified_phone(user.id)
        if phone is None:
            return _settle(delivery_id, "skipped", "no_verified_phone")
        values = defaultdict(str, context)
        text = f"Bookstore: {kind.title.format_map(values)}. {kind.body.format_map(values)}"
        try:
            sms.send(config, phone, text[:600])
        except sms.TRANSIENT as exc:
            _settle(delivery_id, None, str(exc))
            raise
        return _settle(delivery_id, "sent", None)
    if delivery.channel == "web_push":
        from services.notifications import web_push

        values = defaultdict(str, context)
        payload = {
            "event": event.event,
            "title": kind.title.format_map(values)[:200],
            "body": kind.body.format_map(values)[:1000],
            "url": link,
        }
        if not config.get("WEBPUSH_VAPID_PRIVATE_KEY"):
            return _settle(delivery_id, "skipped", "push_not_configured")
        try:
            sent, removed = web_push.send_to_user(user.id, payload, config)
        except web_push.TransientPushError as exc:
            _settle(delivery_id, None, str(exc))
            raise
        if sent:
            return _settle(delivery_id, "sent", None)
        reason = "push_subscription_gone" if removed else "push_refused"
        return _settle(delivery_id, "skipped" if removed else "failed", reason)
    db.session.commit()
    return _settle(delivery_id, "skipped", "channel_not_implemented")


def _settle(delivery_id: uuid.UUID, status: str | None, error: str | None) -> str | None:
    values = {"attempts": NotificationDelivery.attempts + 1, "last_error": error}
    if status is not None:
        values["status"] = status
        if status == "sent":
            values["sent_at"] = datetime.now(UTC)
        if status == "skipped":
            values["reason"] = (error or "")[:64] or None
    db.session.execute(
        update(NotificationDelivery)
        .where(NotificationDelivery.id == delivery_id, NotificationDelivery.status == "queued")
        .values(**values)
    )
    db.session.commit()
    return status


def record_gave_up(delivery_id: uuid.UUID, error: str) -> None:
    _settle(delivery_id, "failed", f"gave up: {error}"[:2000])


# --- the in-app inbox -------------------------------------------------------------------
def inbox(user: User, limit: int = 20, cursor: str | None = None):
    """One page of the user's in-app notifications, newest first."""
    query = select(InAppNotification).where(InAppNotification.user_id == user.id)
    page = newest_first(
        query, InAppNotification.created_at, InAppNotification.id, "inbox", limit, cursor
    )
    return page.items, page.next_cursor


def unread_count(user_id: uuid.UUID) -> int:
    return db.session.scalar(
        select(func.count(InAppNotification.id)).where(
            InAppNotification.user_id == user_id, InAppNotification.read_at.is_(None)
        )
    )


def mark_read(user: User, notification_id: uuid.UUID) -> InAppNotification:
    """Mark one of the user's notifications read (idempotent: the first read time stays)."""
    item = db.session.get(InAppNotification, notification_id)
    if item is None or item.user_id != user.id:
        raise InAppNotificationNotFound()
    if item.read_at is None:
        item.read_at = datetime.now(UTC)
    db.session.commit()
    return item

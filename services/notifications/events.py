"""Events to tell users about, and the dispatcher fanning each one out to its channels.

A producer calls ``notify()`` inside its own transaction (the event row and an outbox message
commit with the change); ``tasks.notifications.dispatch(event_id)`` then calls ``fan_out()``,
which writes one delivery row per channel (dedupe key ``<event key>:<channel>``: a retried
dispatch adds nothing) and returns the queued ones for their channel tasks."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from models import NotificationDelivery, NotificationEvent, OutboxMessage, db
from services import outbox
from services.notifications import preferences
from services.notifications.preferences import CHANNELS

# Why a channel the user wants cannot deliver to them.
UNAVAILABLE_CHANNELS = {"sms": "no_verified_phone", "web_push": "no_push_subscription"}


@dataclass(frozen=True)
class EventKind:
    category: str  # a preference category, or "account" (always e-mail and in-app)
    template: str  # e-mail template
    title: str  # in-app title (str.format with the context)
    body: str
    # For order events: the e-mail's dedupe key suffix shared with the order e-mails.
    order_email: str | None = None
    # Urgent events (the shopper must act soon) ignore quiet hours on SMS and push.
    urgent: bool = False


EVENTS = {
    "welcome": EventKind(
        "account",
        "welcome",
        "Welcome to Bookstore",
        "Hello {name}, your account is ready. Happy reading!",
    ),
    "order_confirmed": EventKind(
        "order_updates",
        "order_confirmed",
        "Order {order_number} confirmed",
        "We have your order {order_number} ({total}); we tell you when it ships.",
        "confirmed",
    ),
    "order_rejected": EventKind(
        "order_updates",
        "order_rejected",
        "Order {order_number} could not be placed",
        "We could not place order {order_number}: {reason}",
        "rejected",
    ),
    "payment_failed": EventKind(
        "order_updates",
        "order_payment_failed",
        "Payment failed for order {order_number}",
        "Your payment for order {order_number} did not go through; nothing was charged.",
        "payment_failed",
        urgent=True,
    ),
    "awaiting_payment": EventKind(
        "order_updates",
        "order_payment_action_required",
        "Confirm your payment for order {order_number}",
        "Your bank asks you to confirm the payment of order {order_number} ({total}).",
        "payment_action_required",
        urgent=True,
    ),
    "order_cancelled": EventKind(
        "order_updates",
        "order_cancelled",
        "Order {order_number} cancelled",
        "Order {order_number} is cancelled.",
        "cancelled",
    ),
    "order_refunded": EventKind(
        "order_updates",
        "order_refunded",
        "Refund for order {order_number}",
        "We refunded money on order {order_number}; it reaches your card in 5 to 10 days.",
        # One e-mail per refund: the key comes from the producer (see ORDER_MAIL_EVENTS).
    ),
    "review_hidden": EventKind(
        "account",
        "review_hidden",
        "Your review was hidden",
        'Our staff hid your review of "{book_title}": {reason}',
    ),
    "review_restored": EventKind(
        "account",
        "review_restored",
        "Your review is visible again",
        'Your review of "{book_title}" is back on the book\'s page.',
    ),
    "order_shipped": EventKind(
        "order_updates",
        "order_shipped",
        "Your order is on its way",
        "Order {short_id} shipped with {carrier} ({tracking_number}).",
        "shipped",
    ),
    "out_for_delivery": EventKind(
        "order_updates",
        "order_out_for_delivery",
        "Out for delivery today",
        "Order {short_id} is out for delivery.",
        "out_for_delivery",
    ),
    "order_delivered": EventKind(
        "order_updates",
        "order_delivered",
        "Delivered",
        "Order {short_id} was delivered. Enjoy your books!",
        "delivered",
    ),
    "shipment_exception": EventKind(
        "order_updates",
        "shipment_exception",
        "A problem with your delivery",
        "The carrier reported a problem with order {short_id}: {reason}",
        "shipment_exception",
    ),
    "back_in_stock": EventKind(
        "back_in_stock",
        "back_in_stock",
        "Back in stock",
        "{title} is back in stock.",
    ),
}


# The order flow's e-mail events (``send_order_email``'s ``event``, before any ``:<id>``) and
# the notification each one is for a shopper with an account.
ORDER_MAIL_EVENTS = {
    "confirmed": "order_confirmed",
    "rejected": "order_rejected",
    "payment_failed": "payment_failed",
    "payment_action_required": "awaiting_payment",
    "refunded": "order_refunded",
    "cancelled": "order_cancelled",
    "shipped": "order_shipped",
    "out_for_delivery": "out_for_delivery",
    "delivered": "order_delivered",
    "shipment_exception": "shipment_exception",
}
# E-mail templates whose preferences the dispatcher applies per channel (the e-mail log does
# not apply the older flat flags to them a second time).
DISPATCHED_TEMPLATES = frozenset(kind.template for kind in EVENTS.values())


def notify(event: str, user_id: uuid.UUID, context: dict, dedupe_key: str) -> int | None:
    """Record ``event`` for ``user_id`` once per ``dedupe_key`` in the caller's transaction.
    Returns the outbox id to send after commit (None if it was already recorded)."""
    if event not in EVENTS:
        raise ValueError(f"unknown notification event {event!r}")
    event_id = db.session.execute(
        insert(NotificationEvent)
        .values(
            id=uuid.uuid4(), event=event, user_id=user_id, context=context, dedupe_key=dedupe_key
        )
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(NotificationEvent.id)
    ).scalar()
    if event_id is None:
        return None
    message = outbox.record(outbox.NOTIFY, {"event_id": str(event_id), "dedupe_key": dedupe_key})
    db.session.flush()
    return message.id


def unsent_outbox_ids(dedupe_key: str) -> list[int]:
    """The outbox messages of a recorded event not sent yet (for a caller that committed)."""
    return list(
        db.session.scalars(
            select(OutboxMessage.id).where(
                OutboxMessage.kind == outbox.NOTIFY,
                OutboxMessage.sent_at.is_(None),
                OutboxMessage.payload["dedupe_key"].astext == dedupe_key,
            )
        )
    )


def _channel_decision(event: NotificationEvent, channel: str, wanted: dict) -> str | None:
    """None if the channel should deliver, else why it is skipped (``wanted``: the user's
    channels of the event's category, see ``preferences.channels_of``)."""
    kind = EVENTS[event.event]
    if kind.category == "account":
        return None if channel in ("email", "in_app") else "not_for_account_mail"
    if not wanted.get(channel, False):
        return "preference_off"
    if channel == "sms":
        from services.notifications.sms import verified_phone

        return None if verified_phone(event.user_id) else UNAVAILABLE_CHANNELS["sms"]
    if channel == "web_push":
        from services.notifications.web_push import has_subscription

        return None if has_subscription(event.user_id) else UNAVAILABLE_CHANNELS["web_push"]
    return None


def fan_out(event_id: uuid.UUID) -> list[tuple[uuid.UUID, str]]:
    """One delivery row per channel for the event. Idempotent. Commits. Returns the
    (delivery id, channel) of queued deliveries not sent yet."""
    event = db.session.get(NotificationEvent, event_id)
    if event is None:
        db.session.rollback()
        return []
    category = EVENTS[event.event].category
    # The user's preferences read once for every channel (a user without a row of them
    # would be looked for once per channel), and one row per channel in one statement.
    wanted = {} if category == "account" else preferences.channels_of(event.user_id, category)
    rows = []
    for channel in CHANNELS:
        reason = _channel_decision(event, channel, wanted)
        rows.append(
            {
                "id": uuid.uuid4(),
                "event_id": event.id,
                "user_id": event.user_id,
                "channel": channel,
                "dedupe_key": f"{event.dedupe_key}:{channel}",
                "status": "queued" if reason is None else "skipped",
                "reason": reason,
            }
        )
    db.session.execute(
        insert(NotificationDelivery)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
    )
    event.dispatched_at = event.dispatched_at or datetime.now(UTC)
    queued = db.session.execute(
        select(NotificationDelivery.id, NotificationDelivery.channel).where(
            NotificationDelivery.event_id == event.id, NotificationDelivery.status == "queued"
        )
    ).all()
    db.session.commit()
    return [tuple(row) for row in queued]

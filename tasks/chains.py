"""The order placement flow in one place, and sending recorded (outbox) work to the broker.

    reserve_stock (orders) -> capture_payment (payments)
        -> confirm_order + reindex_books (orders, one task)
        -> send_order_email (email) and request_shipment (shipping carrier call, orders)

Five hops for six steps: confirm_order and reindex_books always follow each other on the
orders queue and touch only the database, so one task runs both, each still its own
transaction and its own row of the order's timeline. request_shipment calls the carrier and
stays beside the confirmation mail, not before it: a carrier that is down delays the parcel's
label, never the shopper's confirmation. reindex_books only records the order's books; the
search queue's debounced batch (``tasks.search.reindex_books``, woken through the outbox)
rebuilds their documents for many orders at once. A step that ends the flow (rejected,
declined, awaiting the customer) stops the chain itself.

The confirm task sends the last two itself (``after_confirmation``), each its own message,
rather than the chain ending in a Celery group: whoever applies a group (the API relaying
the outbox, or the worker reaching the end of the chain) builds a GroupResult that registers
each member with the Redis result backend and subscribes to its channel, and as the steps
keep no result, nothing ever released them: two entries and two pub/sub channels per order
in every publishing process, for good (tests/tasks/test_chain_publishing.py).

An order that waited for the shopper (3-D Secure) resumes when the provider says so:

    handle_payment_event (payments) -> confirm_order + reindex_books (orders)
        -> send_order_email, request_shipment

Chains published before this layout (confirm_order followed by a group of send_order_email,
request_shipment and reindex_books tasks, or by send_order_email alone) still run: every step
is idempotent (the follow-ups then run twice, the second time as no-ops) and the single-step
tasks stay registered.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from celery import Celery, chain
from celery.canvas import Signature

from models import OutboxMessage, db
from services import outbox
from services.observability import context as log_context
from services.observability import tracing
from services.privacy import erasure
from services.search import freshness as search_freshness

log = logging.getLogger(__name__)

RESERVE_STOCK = "tasks.orders.reserve_stock"
CAPTURE_PAYMENT = "tasks.payments.capture_payment"
CONFIRM_ORDER = "tasks.orders.confirm_order"
SEND_ORDER_EMAIL = "tasks.email.send_order_email"
REQUEST_SHIPMENT = "tasks.orders.request_shipment"
REINDEX_BOOKS = "tasks.search.reindex_books"
APPLY_SHIPMENT_EVENTS = "tasks.shipping.apply_shipment_events"
MAIL_SHIPMENT_EXCEPTION = "tasks.email.mail_shipment_exception"
DISPATCH_NOTIFICATION = "tasks.notifications.dispatch"
# Reviews: a review changed -> the book's rating summary is recomputed (tasks/reviews.py).
RATING_SUMMARY = "rating_summary"
REFRESH_RATING_SUMMARY = "tasks.reviews.refresh_rating_summary"
HANDLE_PAYMENT_EVENT = "tasks.payments.handle_payment_event"
REFUND_PAYMENT = "tasks.payments.refund_payment"
ERASE_ACCOUNT = "tasks.privacy.erase_account"


def order_placement_chain(celery_app: Celery, order_id: str) -> Signature:
    def step(name: str, *args) -> Signature:
        return celery_app.signature(name, args=(order_id, *args), immutable=True)

    return chain(step(RESERVE_STOCK), step(CAPTURE_PAYMENT), step(CONFIRM_ORDER), app=celery_app)


def payment_resumed_chain(celery_app: Celery, order_id: str) -> Signature:
    """The rest of the placement flow once the held payment is authorised."""
    return celery_app.signature(CONFIRM_ORDER, args=(order_id,), immutable=True)


def after_confirmation(celery_app: Celery, order_id: str) -> list[Signature]:
    """What the confirm task sends once the order is confirmed: the mail and the shipment,
    side by side (a carrier that is down never holds the mail back)."""
    return [
        celery_app.signature(SEND_ORDER_EMAIL, args=(order_id, "confirmed"), immutable=True),
        celery_app.signature(REQUEST_SHIPMENT, args=(order_id,), immutable=True),
    ]


def signature_for(celery_app: Celery, message: OutboxMessage) -> Signature:
    payload = message.payload
    if message.kind == outbox.ORDER_PLACED:
        return order_placement_chain(celery_app, payload["order_id"])
    if message.kind == outbox.ORDER_EMAIL:
        return celery_app.signature(
            SEND_ORDER_EMAIL, args=(payload["order_id"], payload["event"]), immutable=True
        )
    if message.kind == outbox.SHIPMENT_EVENTS:
        return celery_app.signature(
            APPLY_SHIPMENT_EVENTS, args=(payload["shipment_id"],), immutable=True
        )
    if message.kind == outbox.STAFF_ALERT:
        return celery_app.signature(
            MAIL_SHIPMENT_EXCEPTION, args=(payload["shipment_event_id"],), immutable=True
        )
    if message.kind == outbox.NOTIFY:
        return celery_app.signature(
            DISPATCH_NOTIFICATION, args=(payload["event_id"],), immutable=True
        )
    if message.kind == RATING_SUMMARY:
        return celery_app.signature(REFRESH_RATING_SUMMARY, args=(payload["book_id"],))
    if message.kind == outbox.PAYMENT_RESUMED:
        return payment_resumed_chain(celery_app, payload["order_id"])
    if message.kind == outbox.PAYMENT_REFUND:
        return celery_app.signature(REFUND_PAYMENT, args=(payload["refund_id"],), immutable=True)
    if message.kind == outbox.PAYMENT_EVENT:
        return celery_app.signature(HANDLE_PAYMENT_EVENT, args=(payload,), immutable=True)
    if message.kind == erasure.ERASE_ACCOUNT:
        return celery_app.signature(ERASE_ACCOUNT, args=(payload["user_id"],), immutable=True)
    if message.kind == search_freshness.REINDEX_BOOKS:
        # The delay lets a burst of changes to one book land before the batch reads it.
        return celery_app.signature(REINDEX_BOOKS, immutable=True).set(
            countdown=_debounce(celery_app)
        )
    raise ValueError(f"unknown outbox message kind {message.kind!r}")


def _debounce(celery_app: Celery) -> float:
    return celery_app.conf.get("search_reindex_debounce_seconds", 0)


def publish(celery_app: Celery, messages: Sequence[OutboxMessage]) -> list[int]:
    """Send each message once, without waiting on a broker that is down (no publish retry:
    the relay sends what failed). Returns the ids that went out."""
    sent = []
    for message in messages:
        headers = message.headers or {}
        # The work goes out under the request that recorded it (a relayed message too), and
        # the publish signal stamps that request id on every task of the chain.
        request_id = headers.get(log_context.REQUEST_ID_HEADER)
        order_id = (message.payload or {}).get("order_id")
        wake_up = message.kind == search_freshness.REINDEX_BOOKS
        if wake_up and not search_freshness.needs_wake_up(_debounce(celery_app)):
            sent.append(message.id)  # a wake-up still to run covers it
            continue
        trace_token = tracing.attach(headers)
        try:
            with log_context.bound(request_id=request_id, order_id=order_id):
                signature_for(celery_app, message).apply_async(retry=False, headers=headers)
        except Exception as exc:  # broker down or unreachable: the relay will resend
            if wake_up:
                search_freshness.wake_up_failed()
            log.warning(
                "outbox message %s not sent: %s",
                message.id,
                exc,
                extra={"outbox_id": message.id, "request_id": request_id, "order_id": order_id},
            )
            outbox.mark_failed(message.id, f"{type(exc).__name__}: {exc}")
            continue
        finally:
            tracing.detach(trace_token)
        sent.append(message.id)
    return sent


def send_recorded(celery_app: Celery, outbox_ids: Sequence[int]) -> list[int]:
    """After a commit: send the messages that transaction recorded and mark them sent, with
    the search reindex messages recorded through this session (a stock change deep in a
    step). Never raises (the relay covers whatever could not be sent now)."""
    outbox_ids = [*outbox_ids, *search_freshness.take_recorded()]
    if not outbox_ids:
        return []
    try:
        messages = outbox.recorded(outbox_ids)
        sent = publish(celery_app, messages)
        outbox.mark_sent(sent)
        db.session.commit()
        return sent
    except Exception:
        db.session.rollback()
        log.exception("could not send outbox messages %s", list(outbox_ids))
        return []

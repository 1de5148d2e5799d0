"""Orders after placement: reading them, cancelling, shipping, delivering, expiring, emailing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import select

from models import Order, OrderStatus, Shipment, User, db
from models.orders import order_number
from services import payments, settings
from services.catalog import cache as catalog_cache
from services.errors import Conflict
from services.inventory import stock as inventory
from services.ops import audit
from services.orders import guest_access, promotions
from services.orders.placement import (
    OrderNotFound,
    email_later,
    lock_order,
    skip_open_steps,
    unlock_cart,
)
from services.pagination import newest_first
from services.reviews import reviews

WAITING = (OrderStatus.PENDING, OrderStatus.AWAITING_PAYMENT)
EMAIL_TEMPLATES = {
    "confirmed": "order_confirmed",
    "rejected": "order_rejected",
    "payment_failed": "order_payment_failed",
    "payment_action_required": "order_payment_action_required",
    "refunded": "order_refunded",  # event "refunded:<refund id>": one email per refund
    "cancelled": "order_cancelled",
    "shipped": "order_shipped",
    "out_for_delivery": "order_out_for_delivery",
    "delivered": "order_delivered",
    "shipment_exception": "shipment_exception",
}


class OrderNotCancellable(Conflict):
    """This order can no longer be cancelled."""

    error = "order_not_cancellable"


class OrderShipped(Conflict):
    """The order has shipped: return it instead of cancelling."""

    error = "order_shipped"


class OrderNotShippable(Conflict):
    """Only a confirmed order can be shipped."""

    error = "order_not_shippable"


class OrderNotDeliverable(Conflict):
    """Only a shipped order can be marked delivered."""

    error = "order_not_deliverable"


def _now() -> datetime:
    return datetime.now(UTC)


def get_for(order_id: uuid.UUID, user: User) -> Order:
    """The order if ``user`` may see it (its owner or staff); otherwise not found."""
    order = db.session.get(Order, order_id)
    if order is None or (order.user_id != user.id and not user.is_staff):
        raise OrderNotFound()
    return order


def list_for(user_id: uuid.UUID, limit: int, cursor: str | None) -> tuple[list[Order], str | None]:
    """The user's orders, newest first, cursor-paged."""
    query = select(Order).where(Order.user_id == user_id)
    page = newest_first(query, Order.created_at, Order.id, "orders", limit, cursor)
    return page.items, page.next_cursor


def order_view(order: Order) -> dict:
    """The SPEC order body."""
    shipment = order.shipment
    return {
        "id": order.id,
        "number": order_number(order.number),
        "status": order.status,
        "status_reason": order.status_reason,
        "items": [
            {
                "book_id": line.book_id,
                "title": line.title,
                "quantity": line.quantity,
                "unit_price_cents": line.unit_price_cents,
                "line_total_cents": line.line_total_cents,
            }
            for line in order.lines
        ],
        "subtotal_cents": order.subtotal_cents,
        "discount_cents": order.discount_cents,
        "shipping_cents": order.shipping_cents,
        "tax_cents": order.tax_cents,
        "total_cents": order.total_cents,
        "currency": order.currency,
        "promo_code": order.promo_code,
        "shipping_address": order.shipping_address,
        "shipping_method": order.shipping_method,
        "payment": payments.payment_view(order),
        "shipment": {
            "carrier": shipment.carrier if shipment else None,
            "tracking_number": shipment.tracking_number if shipment else None,
            "status": shipment.status if shipment else None,
            "events": shipment.events if shipment else [],
        },
        "timeline": [
            {
                "step": step.step,
                "status": step.status,
                "attempts": step.attempts,
                "started_at": step.started_at,
                "finished_at": step.finished_at,
                "error": payments.step_error_view(step.error),
            }
            for step in order.steps
        ],
        "payment_deadline": order.payment_deadline,
        "created_at": order.created_at,
        "updated_at": order.updated_at,
    }


def _withdraw(order: Order, reason: str) -> list[int]:
    """Undo a pending, awaiting or confirmed order: stock back, money back, promotion back."""
    if order.status in WAITING:
        inventory.release(order.id, reason="cancel" if reason != "payment_timeout" else "expire")
        unlock_cart(order)
    else:
        inventory.restock(order.id)
    payments.settle_cancelled(order)
    promotions.give_back(order.id)
    skip_open_steps(order)
    order.status = OrderStatus.CANCELLED
    order.status_reason = reason
    reviews.reverify_for_order(order)  # money back: the purchase no longer verifies a review
    return [email_later(order.id, "cancelled")]


def cancel(order_id: uuid.UUID, user: User, idempotency_key: str | None) -> tuple[Order, list[int]]:
    """Cancel the caller's order (idempotent: a cancelled order is answered as it is). Commits."""
    get_for(order_id, user)
    return _cancel(order_id, idempotency_key)


def cancel_as_guest(
    order_id: uuid.UUID,
    cart_token: str | None,
    link: str | None,
    secret: str,
    idempotency_key: str | None,
) -> tuple[Order, list[int]]:
    """Cancel a guest's order, for whoever holds its X-Cart-Token or its e-mailed link token
    (the same proof that reads it). Commits."""
    guest_access.get_for_guest(order_id, cart_token, link, secret)
    return _cancel(order_id, idempotency_key)


def _cancel(order_id: uuid.UUID, idempotency_key: str | None) -> tuple[Order, list[int]]:
    order = lock_order(order_id)
    if order.status == OrderStatus.CANCELLED:
        db.session.commit()
        return order, []
    if order.status in (OrderStatus.SHIPPED, OrderStatus.DELIVERED):
        db.session.rollback()
        raise OrderShipped()
    if order.status not in (*WAITING, OrderStatus.CONFIRMED):
        db.session.rollback()
        raise OrderNotCancellable(f"An order that is {order.status} cannot be cancelled.")
    outbox_ids = _withdraw(order, "cancelled_by_customer")
    order.cancel_idempotency_key = idempotency_key
    db.session.commit()
    catalog_cache.stock_changed()
    return order, outbox_ids


def expire_unpaid(now: datetime, limit: int = 500) -> tuple[list[uuid.UUID], list[int]]:
    """Orders still pending or awaiting payment past their deadline: stock released, order
    cancelled with reason ``payment_timeout``. Commits per order."""
    due = list(
        db.session.scalars(
            select(Order.id)
            .where(Order.status.in_(WAITING), Order.payment_deadline < now)
            .order_by(Order.payment_deadline)
            .limit(limit)
        )
    )
    expired, outbox_ids = [], []
    for order_id in due:
        order = lock_order(order_id)
        if order.status in WAITING and order.payment_deadline < now:
            outbox_ids += _withdraw(order, "payment_timeout")
            expired.append(order_id)
        db.session.commit()
    if expired:
        catalog_cache.stock_changed()
    return expired, outbox_ids


def ship(
    order_id: uuid.UUID, carrier: str, tracking_number: str, actor_id: uuid.UUID | None = None
) -> tuple[Order, list[int]]:
    """Staff's manual override: the order is shipped with this carrier and tracking number
    (audited). Carrier events older than this moment no longer move the shipment."""
    order = lock_order(order_id)
    already = order.shipment and (order.shipment.carrier, order.shipment.tracking_number)
    if order.status == OrderStatus.SHIPPED and already == (carrier, tracking_number):
        db.session.commit()
        return order, []
    if order.status != OrderStatus.CONFIRMED:
        db.session.rollback()
        raise OrderNotShippable(f"An order that is {order.status} cannot be shipped.")
    shipment = order.shipment
    if shipment is None:
        shipment = Shipment(order_id=order.id, events=[])
        db.session.add(shipment)
        order.shipment = shipment
    before = {
        "carrier": shipment.carrier,
        "tracking_number": shipment.tracking_number,
        "status": shipment.status,
        "order_status": str(order.status),
    }
    shipment.carrier, shipment.tracking_number, shipment.status = (
        carrier,
        tracking_number,
        "shipped",
    )
    shipment.status_at = _now()
    shipment.events = [
        *shipment.events,
        {"status": "shipped", "at": _now().isoformat(), "source": "staff"},
    ]
    order.status = OrderStatus.SHIPPED
    audit.record(
        actor_id,
        "order.ship",
        "order",
        order.id,
        before,
        {
            "carrier": carrier,
            "tracking_number": tracking_number,
            "status": "shipped",
            "order_status": "shipped",
        },
    )
    outbox_ids = [email_later(order.id, "shipped")]
    db.session.commit()
    return order, outbox_ids


def deliver(order_id: uuid.UUID, actor_id: uuid.UUID | None = None) -> Order:
    """Staff's manual override: the shipped order is delivered (audited)."""
    order = lock_order(order_id)
    if order.status == OrderStatus.DELIVERED:
        db.session.commit()
        return order
    if order.status != OrderStatus.SHIPPED:
        db.session.rollback()
        raise OrderNotDeliverable()
    before = {"status": order.shipment.status, "order_status": str(order.status)}
    order.status = OrderStatus.DELIVERED
    order.shipment.status = "delivered"
    order.shipment.status_at = _now()
    order.shipment.events = [
        *order.shipment.events,
        {"status": "delivered", "at": _now().isoformat(), "source": "staff"},
    ]
    audit.record(
        actor_id,
        "order.deliver",
        "order",
        order.id,
        before,
        {"status": "delivered", "order_status": "delivered"},
    )
    db.session.commit()
    return order


def _money(cents: int, currency: str) -> str:
    return f"{cents / 100:.2f} {currency}"


def email_context(order: Order, user: User | None) -> dict:
    """What the order templates see (plain JSON values: it is stored with the notification).
    A guest's order (no user) links to the order with a signed token."""
    from services.orders.guest_access import order_url

    shipment = order.shipment
    return {
        "name": user.name if user is not None else None,
        "order_id": str(order.id),
        "order_number": order_number(order.number),
        "order_url": order_url(
            order, settings.current().order_link_keys, settings.current().config["PUBLIC_BASE_URL"]
        ),
        "status": order.status,
        "reason": order.status_reason,
        "items": [
            {
                "title": line.title,
                "quantity": line.quantity,
                "line_total": _money(line.line_total_cents, order.currency),
            }
            for line in order.lines
        ],
        "subtotal": _money(order.subtotal_cents, order.currency),
        "discount": _money(order.discount_cents, order.currency),
        "shipping": _money(order.shipping_cents, order.currency),
        "tax": _money(order.tax_cents, order.currency),
        "total": _money(order.total_cents, order.currency),
        "carrier": shipment.carrier if shipment else None,
        "tracking_number": shipment.tracking_number if shipment else None,
    }


def send_email(order_id: uuid.UUID, event: str) -> bool:
    """Tell the shopper about ``event`` once: the dedupe key ``order:<id>:<event>`` makes a
    re-run a no-op. Commits. A shopper with an account is told through the notifications
    dispatcher (their channels and preferences; the caller sends ``unsent_outbox_ids(key)``);
    a guest's order is e-mailed to the address it was placed with."""
    from services.notifications import delivery as notifications  # the delivery log
    from services.notifications import events

    order = db.session.get(Order, order_id)
    if order is None:
        return False
    key = f"order:{order.id}:{event}"
    if order.user_id is not None:
        events.notify(
            events.ORDER_MAIL_EVENTS[event.partition(":")[0]],
            order.user_id,
            {"order_id": str(order.id), "email_key": key},
            key,
        )
        db.session.commit()
        return True
    context = email_context(order, None)
    db.session.commit()  # send_once wants a session without pending work
    notifications.send_once(key, order.email, EMAIL_TEMPLATES[event.partition(":")[0]], context)
    return True

"""Placing an order: validate and price the cart, create the pending order, lock the cart and
record the placement work in the same transaction (the caller sends it after commit)."""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from models import CartStatus, Order, OrderLine, OrderStatus, OrderStep, User, db
from services import outbox, payments, settings
from services.errors import Conflict, InvalidInput
from services.orders import cart as carts
from services.orders import pricing, promotions

log = logging.getLogger("bookstore.orders")

# The placement chain's steps, in order (tasks/chains.py builds the chain from the same list).
PLACEMENT_STEPS = (
    "reserve_stock",
    "capture_payment",
    "confirm_order",
    "send_order_email",
    "request_shipment",
    "reindex_books",
)


class IdempotencyConflict(Conflict):
    """This Idempotency-Key was used with a different request body."""

    error = "idempotency_conflict"


class AddressRequired(InvalidInput):
    """Send a shipping_address (or the id of one of your saved addresses)."""

    error = "address_required"


@dataclass
class Placement:
    order: Order
    created: bool
    outbox_ids: list[int]


def fingerprint(body: dict) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replay(user_id: uuid.UUID, key: str, body_fingerprint: str) -> Order | None:
    order = db.session.scalar(
        select(Order).where(Order.user_id == user_id, Order.idempotency_key == key)
    )
    if order is not None and order.request_fingerprint != body_fingerprint:
        raise IdempotencyConflict()
    return order


def resolve_address(user: User, body: dict) -> dict:
    """The shipping address as stored on the order (a snapshot)."""
    if body.get("shipping_address"):
        return dict(body["shipping_address"])
    if body.get("address_id"):
        saved = _saved_address(user, body["address_id"])
        if saved is not None:
            return saved
    raise AddressRequired()


def _saved_address(user: User, address_id: uuid.UUID) -> dict | None:
    try:
        from models.addresses import Address  # the accounts area's saved addresses
    except ImportError:
        return None
    address = db.session.get(Address, address_id)
    if address is None or address.user_id != user.id:
        return None
    fields = ("name", "line1", "line2", "city", "region", "postal_code", "country")
    return {name: getattr(address, name, None) for name in fields}


def place_order(
    user: User, body: dict, idempotency_key: str | None, guest_token: str | None = None
) -> Placement:
    """Create the pending order from the user's cart and commit. Replays of the same
    Idempotency-Key and body return the first order (``created`` False)."""
    body_fingerprint = fingerprint(body)
    if idempotency_key:
        existing = _replay(user.id, idempotency_key, body_fingerprint)
        if existing is not None:
            return Placement(existing, False, [])
    payments.check_checkout(body)
    address = resolve_address(user, body)
    if guest_token:
        carts.merge_guest_cart(guest_token, user.id)
    cart = carts.live_user_cart(user.id, for_update=True)
    if idempotency_key:
        # A concurrent request with the same key may have committed while we waited.
        existing = _replay(user.id, idempotency_key, body_fingerprint)
        if existing is not None:
            db.session.rollback()
            return Placement(existing, False, [])
    if cart is not None and cart.status == CartStatus.LOCKED:
        raise carts.CartLocked()
    quote = pricing.quote(
        cart, address["country"], body["shipping_method"], body.get("promo_code"), user.id
    )
    now = datetime.now(UTC)
    order = Order(
        id=uuid.uuid4(),
        user_id=user.id,
        cart_id=cart.id,
        status=OrderStatus.PENDING,
        currency=quote.currency,
        subtotal_cents=quote.subtotal_cents,
        discount_cents=quote.discount_cents,
        shipping_cents=quote.shipping_cents,
        tax_cents=quote.tax_cents,
        total_cents=quote.total_cents,
        shipping_address=address,
        shipping_method=body["shipping_method"],
        promo_code=quote.promotion.code if quote.promotion else None,
        promotion_id=quote.promotion.id if quote.promotion else None,
        payment_method=body["payment_method"],
        idempotency_key=idempotency_key,
        request_fingerprint=body_fingerprint,
        payment_deadline=now + timedelta(seconds=settings.current().order_payment_timeout_seconds),
        created_at=now,
        updated_at=now,
    )
    order.lines = [
        OrderLine(
            book_id=line.book_id,
            position=position,
            title=line.title,
            unit_price_cents=line.unit_price_cents,
            quantity=line.quantity,
            line_total_cents=line.line_total_cents,
        )
        for position, line in enumerate(quote.lines)
    ]
    order.steps = [
        OrderStep(step=name, position=position) for position, name in enumerate(PLACEMENT_STEPS)
    ]
    db.session.add(order)
    db.session.flush()
    if quote.promotion is not None:
        promotions.redeem(quote.promotion, order.id, user.id)
    cart.status = CartStatus.LOCKED
    message = outbox.record(outbox.ORDER_PLACED, {"order_id": str(order.id)})
    try:
        db.session.commit()
    except IntegrityError:
        # A concurrent request with the same Idempotency-Key committed first.
        db.session.rollback()
        if idempotency_key:
            existing = _replay(user.id, idempotency_key, body_fingerprint)
            if existing is not None:
                return Placement(existing, False, [])
        raise
    # A new order has neither payment nor shipment: say so, saving two lazy loads.
    set_committed_value(order, "payment", None)
    set_committed_value(order, "shipment", None)
    log.info(
        "order placed: %d line(s), %d %s",
        len(order.lines),
        order.total_cents,
        order.currency,
        extra={"order_id": str(order.id), "event": "order_placed"},
    )
    return Placement(order, True, [message.id])

"""Guest orders: who may read one (its cart token or a signed link), and joining an account."""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Sequence

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, update

from models import Order, User, db
from services.errors import Unauthorized
from services.orders.cart import hash_token
from services.orders.placement import OrderNotFound
from services.recommendations import cache as recommendation_cache

_LINK_SALT = "orders.guest-link"


def _serializer(keys: Sequence[str]) -> URLSafeSerializer:
    # ORDER_LINK_KEYS, newest first; itsdangerous signs with the last of its list.
    return URLSafeSerializer(list(reversed(keys)), salt=_LINK_SALT)


def link_token(order_id: uuid.UUID, keys: Sequence[str]) -> str:
    """The token of the order link mailed to a guest (``GET /orders/{id}?token=``)."""
    return _serializer(keys).dumps(str(order_id))


def order_url(order: Order, keys: Sequence[str], base_url: str) -> str:
    """Where the shopper reads the order, on this API's PUBLIC_BASE_URL: a guest's link carries
    its signed token."""
    url = f"{base_url.rstrip('/')}/api/v1/orders/{order.id}"
    return url if order.user_id is not None else f"{url}?token={link_token(order.id, keys)}"


def get_for_guest(
    order_id: uuid.UUID, cart_token: str | None, link: str | None, keys: Sequence[str]
) -> Order:
    """A guest's order, for the X-Cart-Token it checked out with or its signed link; any
    other token gets the same 404 as for a missing order; no token at all is a 401."""
    if not cart_token and not link:
        raise Unauthorized(
            "Log in, or send the X-Cart-Token or the link token this guest order was placed with."
        )
    order = db.session.get(Order, order_id)
    if order is None or order.guest_token_hash is None:
        raise OrderNotFound()
    if cart_token and hmac.compare_digest(hash_token(cart_token), order.guest_token_hash):
        return order
    if link and _link_names(link, order_id, keys):
        return order
    raise OrderNotFound()


def _link_names(link: str, order_id: uuid.UUID, keys: Sequence[str]) -> bool:
    try:
        return _serializer(keys).loads(link) == str(order_id)
    except BadSignature:
        return False


def claim_guest_orders(user: User) -> int:
    """Give a verified account the guest orders placed with its e-mail. Does not commit."""
    if user.email_verified_at is None:
        return 0
    result = db.session.execute(
        update(Order)
        .where(Order.user_id.is_(None), func.lower(Order.email) == user.email.lower())
        .values(user_id=user.id)
    )
    if result.rowcount:
        recommendation_cache.user_changed_on_commit(db.session(), user.id)
    return result.rowcount

"""Account erasure (``DELETE /me``): the account is locked out at once, and a task then removes
or anonymises the shopper's personal data. Orders stay, for the books: their lines, amounts and
the shipping country (tax) are kept; the name and address lines of their snapshot are not."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime

from sqlalchemy import delete, select, update

from models import (
    Address,
    BackInStockRequest,
    Cart,
    InAppNotification,
    Notification,
    NotificationDelivery,
    NotificationEvent,
    NotificationPreference,
    OneTimeToken,
    Order,
    PushSubscription,
    RefreshToken,
    User,
    UserPhone,
    db,
)
from services import outbox
from services.accounts.passwords import hash_password

ERASE_ACCOUNT = "erase_account"  # outbox kind: run services.privacy.erasure.erase
ERASED_DOMAIN = "erased.invalid"  # RFC 2606: never a real mailbox
# What an order's shipping snapshot keeps after erasure (tax and shipping were priced on it).
KEPT_ADDRESS_FIELDS = ("country",)


def erased_email(user_id: uuid.UUID) -> str:
    return f"erased-{user_id.hex}@{ERASED_DOMAIN}"


def request_erasure(user: User) -> list[int]:
    """Lock the account out now (inactive: no login, no token accepted, refresh tokens gone)
    and record the erasure for a worker. Commits; returns the outbox ids to send."""
    locked = db.session.get(User, user.id, with_for_update=True, populate_existing=True)
    locked.is_active = False
    db.session.execute(delete(RefreshToken).where(RefreshToken.user_id == user.id))
    message = outbox.record(ERASE_ACCOUNT, {"user_id": str(user.id)})
    db.session.commit()
    return [message.id]


def erase(user_id: uuid.UUID) -> bool:
    """Remove or anonymise everything personal of this account; False when there is nothing to
    do (no such user, or already erased). Idempotent: the user row is locked and re-read."""
    user = db.session.get(User, user_id, with_for_update=True, populate_existing=True)
    if user is None or user.erased_at is not None:
        db.session.rollback()
        return False
    for model in (
        Address,
        UserPhone,
        PushSubscription,  # a browser's push endpoint and keys
        RefreshToken,
        OneTimeToken,
        NotificationPreference,
        InAppNotification,
        NotificationDelivery,
        BackInStockRequest,
    ):
        db.session.execute(delete(model).where(model.user_id == user_id))
    db.session.execute(delete(NotificationEvent).where(NotificationEvent.user_id == user_id))
    db.session.execute(delete(Cart).where(Cart.user_id == user_id, Cart.status != "converted"))
    # The e-mail log keeps that a message went out, not to whom nor what it said.
    db.session.execute(
        update(Notification)
        .where(Notification.user_id == user_id)
        .values(to_email=erased_email(user_id), context=None)
    )
    for order in db.session.scalars(
        select(Order).where(Order.user_id == user_id).with_for_update()
    ):
        snapshot = order.shipping_address or {}
        order.shipping_address = {
            **{field: snapshot[field] for field in KEPT_ADDRESS_FIELDS if field in snapshot},
            "erased": True,
        }
        order.email = None
    user.email = erased_email(user_id)
    user.name = ""
    user.password_hash = hash_password(secrets.token_urlsafe(32))  # nobody knows it
    user.is_active = False
    user.email_verified_at = None
    user.erased_at = datetime.now(UTC)
    db.session.commit()
    return True

"""Shopping carts: a user's live cart or a guest's (addressed by a token), items and merging."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from models import Book, BookStatus, Cart, CartItem, CartStatus, db
from services import settings
from services.errors import Conflict, InvalidInput, NotFound
from services.inventory import stock as inventory

MAX_QUANTITY = 50
LIVE_STATUSES = (CartStatus.OPEN, CartStatus.LOCKED)


class CartLocked(Conflict):
    """A checkout of this cart is in flight; it cannot change until the order settles."""

    error = "cart_locked"


class QuantityOutOfRange(InvalidInput):
    """Quantities are between 1 and 50 per book."""

    error = "quantity_out_of_range"


class BookNotFound(NotFound):
    """No such book."""

    error = "book_not_found"


class BookUnavailable(InvalidInput):
    """This book is no longer sold."""

    error = "book_unavailable"


class CartItemNotFound(NotFound):
    """This book is not in the cart."""

    error = "cart_item_not_found"


@dataclass
class CartHandle:
    """The cart a request addresses; ``new_token`` is set when a guest token was just minted."""

    cart: Cart | None
    new_token: str | None = None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def _expiry() -> datetime:
    return _now() + timedelta(seconds=settings.current().cart_ttl_seconds)


def live_user_cart(user_id: uuid.UUID, for_update: bool = False) -> Cart | None:
    query = select(Cart).where(Cart.user_id == user_id, Cart.status.in_(LIVE_STATUSES))
    if for_update:
        query = query.with_for_update()
    return db.session.scalars(query).first()


def _guest_cart(token: str | None) -> Cart | None:
    if not token:
        return None
    return db.session.scalars(
        select(Cart).where(Cart.token_hash == hash_token(token), Cart.status.in_(LIVE_STATUSES))
    ).first()


def _create_user_cart(user_id: uuid.UUID) -> Cart:
    try:
        with db.session.begin_nested():
            cart = Cart(user_id=user_id, expires_at=_expiry())
            db.session.add(cart)
    except IntegrityError:  # a concurrent request created it first
        cart = live_user_cart(user_id)
    return cart


def find_cart(user_id: uuid.UUID | None, guest_token: str | None) -> CartHandle:
    """The cart the caller addresses, without creating one. A user's request that also
    carries a guest token merges the guest cart in first."""
    if user_id is not None:
        if _guest_cart(guest_token) is not None:
            return CartHandle(merge_guest_cart(guest_token, user_id))
        return CartHandle(live_user_cart(user_id))
    return CartHandle(_guest_cart(guest_token))


def open_cart(user_id: uuid.UUID | None, guest_token: str | None) -> CartHandle:
    """The caller's cart, created on first use (a guest then gets a new token)."""
    handle = find_cart(user_id, guest_token)
    if handle.cart is not None:
        return handle
    if user_id is not None:
        return CartHandle(_create_user_cart(user_id))
    token = secrets.token_urlsafe(32)
    cart = Cart(token_hash=hash_token(token), expires_at=_expiry())
    db.session.add(cart)
    db.session.flush()
    return CartHandle(cart, new_token=token)


def _require_open(cart: Cart) -> None:
    if cart.status == CartStatus.LOCKED:
        raise CartLocked()
    if cart.status != CartStatus.OPEN:
        raise CartLocked("This cart is closed; start a new one.")


def _touch(cart: Cart) -> None:
    cart.updated_at = _now()
    cart.expires_at = _expiry()


def _check_quantity(quantity: int) -> None:
    if not 1 <= quantity <= MAX_QUANTITY:
        raise QuantityOutOfRange(f"Quantity must be between 1 and {MAX_QUANTITY}.")


def _sellable_book(book_id: uuid.UUID) -> Book:
    book = db.session.get(Book, book_id)
    if book is None:
        raise BookNotFound()
    if book.status != BookStatus.ACTIVE:
        raise BookUnavailable()
    return book


def _item(cart: Cart, book_id: uuid.UUID) -> CartItem | None:
    return next((item for item in cart.items if item.book_id == book_id), None)


def add_item(cart: Cart, book_id: uuid.UUID, quantity: int) -> Cart:
    """Add ``quantity`` copies (added to what is already in the cart)."""
    _require_open(cart)
    _check_quantity(quantity)
    _sellable_book(book_id)
    item = _item(cart, book_id)
    if item is None:
        cart.items.append(CartItem(book_id=book_id, quantity=quantity, added_at=_now()))
    else:
        _check_quantity(item.quantity + quantity)
        item.quantity += quantity
    _touch(cart)
    return cart


def set_quantity(cart: Cart, book_id: uuid.UUID, quantity: int) -> Cart:
    _require_open(cart)
    _check_quantity(quantity)
    item = _item(cart, book_id)
    if item is None:
        raise CartItemNotFound()
    item.quantity = quantity
    _touch(cart)
    return cart


def remove_item(cart: Cart, book_id: uuid.UUID) -> Cart:
    _require_open(cart)
    item = _item(cart, book_id)
    if item is None:
        raise CartItemNotFound()
    cart.items.remove(item)
    _touch(cart)
    return cart


def clear(cart: Cart) -> Cart:
    _require_open(cart)
    cart.items.clear()
    _touch(cart)
    return cart


def merge_guest_cart(guest_token: str | None, user_id: uuid.UUID) -> Cart | None:
    """Move a guest cart's items into the user's live cart (quantities added, capped at 50)
    and close the guest cart. Call at login; does not commit. Returns the user's cart."""
    guest = _guest_cart(guest_token)
    user_cart = live_user_cart(user_id, for_update=True)
    if guest is None or guest.user_id == user_id:
        return user_cart or guest
    if user_cart is None:
        # The guest cart simply becomes the user's.
        guest.user_id = user_id
        guest.token_hash = None
        _touch(guest)
        db.session.flush()
        return guest
    if user_cart.status != CartStatus.OPEN or guest.status != CartStatus.OPEN:
        return user_cart  # never change a cart whose checkout is in flight
    for guest_item in list(guest.items):
        item = _item(user_cart, guest_item.book_id)
        if item is None:
            user_cart.items.append(
                CartItem(book_id=guest_item.book_id, quantity=guest_item.quantity, added_at=_now())
            )
        else:
            item.quantity = min(MAX_QUANTITY, item.quantity + guest_item.quantity)
    guest.items.clear()
    guest.status = CartStatus.EXPIRED
    guest.token_hash = None
    _touch(user_cart)
    db.session.flush()
    return user_cart


def cart_view(cart: Cart | None) -> dict:
    """The SPEC cart body, with current prices and availability."""
    currency = settings.current().default_currency
    if cart is None:
        return {
            "id": None,
            "items": [],
            "subtotal_cents": 0,
            "currency": currency,
            "expires_at": None,
            "locked": False,
        }
    books = {
        book.id: book
        for book in db.session.scalars(
            select(Book).where(Book.id.in_([item.book_id for item in cart.items]))
        )
    }
    available = inventory.availability(list(books))
    items = []
    for item in cart.items:
        book = books[item.book_id]
        items.append(
            {
                "book_id": item.book_id,
                "title": book.title,
                "quantity": item.quantity,
                "unit_price_cents": book.price_cents,
                "line_total_cents": book.price_cents * item.quantity,
                "available": available.get(item.book_id, 0),
            }
        )
    return {
        "id": cart.id,
        "items": items,
        "subtotal_cents": sum(item["line_total_cents"] for item in items),
        "currency": currency,
        "expires_at": cart.expires_at,
        "locked": cart.status == CartStatus.LOCKED,
    }


def expire_idle(now: datetime, limit: int = 1000) -> int:
    """Close open carts idle past their expiry and drop their items (carts hold no stock;
    an order in flight keeps its cart locked, and locked carts are left alone)."""
    carts = list(
        db.session.scalars(
            select(Cart)
            .where(Cart.status == CartStatus.OPEN, Cart.expires_at < now)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    for cart in carts:
        cart.items.clear()
        cart.status = CartStatus.EXPIRED
        cart.token_hash = None
    return len(carts)

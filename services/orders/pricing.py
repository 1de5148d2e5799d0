"""Prices a cart: line snapshots, promotion discount, shipping by method and country, tax."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import select

from models import Book, BookStatus, Cart, db
from services import settings
from services.errors import InvalidInput
from services.orders import promotions


class CartEmpty(InvalidInput):
    """The cart is empty."""

    error = "cart_empty"


class CartHasUnavailableBooks(InvalidInput):
    """Some books in the cart are no longer sold; remove them first."""

    error = "book_unavailable"


class UnknownShippingMethod(InvalidInput):
    """No such shipping method."""

    error = "unknown_shipping_method"


METHODS = {
    "standard": {"name": "Standard (5-7 days)", "estimated_days": 6, "free_over": True},
    "express": {"name": "Express (1-2 days)", "estimated_days": 2, "free_over": False},
}


@dataclass(frozen=True)
class PricedLine:
    book_id: uuid.UUID
    title: str
    unit_price_cents: int
    quantity: int

    @property
    def line_total_cents(self) -> int:
        return self.unit_price_cents * self.quantity


@dataclass
class Quote:
    lines: list[PricedLine]
    currency: str
    subtotal_cents: int
    discount_cents: int
    shipping_cents: int
    tax_cents: int
    promotion: object = field(default=None, repr=False)

    @property
    def total_cents(self) -> int:
        return self.subtotal_cents - self.discount_cents + self.shipping_cents + self.tax_cents

    def as_dict(self) -> dict:
        return {
            "subtotal_cents": self.subtotal_cents,
            "discount_cents": self.discount_cents,
            "shipping_cents": self.shipping_cents,
            "tax_cents": self.tax_cents,
            "total_cents": self.total_cents,
            "currency": self.currency,
        }


def shipping_price(method: str, country: str, item_count: int, merchandise_cents: int) -> int:
    """Flat plus per item; standard is free from a threshold; abroad costs a surcharge."""
    config = settings.current()
    if method not in METHODS:
        raise UnknownShippingMethod(f"Choose one of: {', '.join(METHODS)}.")
    flat_cents, per_item_cents = config.shipping_rates[method]
    price = flat_cents + per_item_cents * item_count
    if METHODS[method]["free_over"] and merchandise_cents >= config.shipping_free_over_cents:
        price = 0
    if country.upper() != config.shipping_domestic_country:
        price += config.shipping_international_surcharge_cents
    return price


def shipping_methods(country: str, item_count: int = 1, merchandise_cents: int = 0) -> list[dict]:
    return [
        {
            "code": code,
            "name": method["name"],
            "estimated_days": method["estimated_days"],
            "price_cents": shipping_price(code, country, item_count, merchandise_cents),
            "free_over_cents": (
                settings.current().shipping_free_over_cents if method["free_over"] else None
            ),
            "currency": settings.current().default_currency,
        }
        for code, method in METHODS.items()
    ]


def tax_rate_bps(country: str) -> int:
    config = settings.current()
    return config.tax_rates_bps.get(country.upper(), config.tax_default_rate_bps)


def _tax(taxable_cents: int, country: str) -> int:
    # Half up, in integer arithmetic.
    return (taxable_cents * tax_rate_bps(country) + 5000) // 10000


def priced_lines(cart: Cart | None) -> list[PricedLine]:
    """The cart's lines at today's prices; refuses an empty cart or unsellable books."""
    if cart is None or not cart.items:
        raise CartEmpty()
    books = {
        book.id: book
        for book in db.session.scalars(
            select(Book).where(Book.id.in_([item.book_id for item in cart.items]))
        )
    }
    unavailable = [
        str(item.book_id)
        for item in cart.items
        if item.book_id not in books or books[item.book_id].status != BookStatus.ACTIVE
    ]
    if unavailable:
        raise CartHasUnavailableBooks(book_ids=unavailable)
    return [
        PricedLine(book.id, book.title, book.price_cents, item.quantity)
        for item, book in ((item, books[item.book_id]) for item in cart.items)
    ]


def quote(
    cart: Cart | None,
    country: str,
    shipping_method: str,
    promo_code: str | None,
    user_id: uuid.UUID | None,
) -> Quote:
    lines = priced_lines(cart)
    subtotal = sum(line.line_total_cents for line in lines)
    discount = promotions.evaluate(promo_code, subtotal, user_id)
    merchandise = subtotal - discount.cents
    shipping = shipping_price(
        shipping_method, country, sum(line.quantity for line in lines), merchandise
    )
    return Quote(
        lines=lines,
        currency=settings.current().default_currency,
        subtotal_cents=subtotal,
        discount_cents=discount.cents,
        shipping_cents=shipping,
        tax_cents=_tax(merchandise + shipping, country),
        promotion=discount.promotion,
    )

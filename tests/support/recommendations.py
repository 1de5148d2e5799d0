"""Helpers for recommendation tests: the real goodbooks folder, and a delivered order."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from models import Book, Order, OrderLine, OrderStatus, User, db
from services.catalog.importer import book_id_for
from tests.support.goodbooks import real_dataset_dir

HOBBIT, FELLOWSHIP, HUNGER_GAMES, CATCHING_FIRE = 7, 19, 1, 17


def goodbooks_dir() -> Path:
    """The real dataset's folder; the test is skipped where there is none."""
    return real_dataset_dir()


def real_book(source_id: int) -> Book:
    return db.session.get(Book, book_id_for(source_id))


def delivered_order(user: User, *books: Book) -> Order:
    """A delivered order of ``books`` (as placed and shipped earlier), committed."""
    order = Order(
        user_id=user.id,
        status=OrderStatus.DELIVERED,
        currency="USD",
        subtotal_cents=sum(book.price_cents for book in books),
        total_cents=sum(book.price_cents for book in books),
        shipping_address={"country": "US"},
        shipping_method="standard",
        payment_method="pm_card_visa",
        payment_deadline=datetime.now(UTC),
    )
    for position, book in enumerate(books):
        order.lines.append(
            OrderLine(
                book_id=book.id,
                position=position,
                title=book.title,
                unit_price_cents=book.price_cents,
                quantity=1,
                line_total_cents=book.price_cents,
            )
        )
    db.session.add(order)
    db.session.commit()
    return order

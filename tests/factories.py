"""Test data builders (plain functions over the real models).

They commit: under the ``session`` fixture a commit only releases a savepoint of the
test's outer transaction, which is rolled back after the test."""

from __future__ import annotations

import uuid

from flask import Flask

from app.auth import access_token_for
from models import Book, Role, Stock, StockMovement, User, Warehouse, db


def make_user(role: str = Role.CUSTOMER, email: str | None = None) -> User:
    from argon2 import PasswordHasher

    user = User(
        email=email or f"user-{uuid.uuid4().hex[:10]}@example.com",
        password_hash=PasswordHasher().hash("correct horse battery staple"),
        name="Test User",
        role=role,
    )
    db.session.add(user)
    db.session.commit()
    return user


def auth_headers(app: Flask, user: User) -> dict[str, str]:
    with app.app_context():
        return {"Authorization": f"Bearer {access_token_for(user)}"}


def make_book(title: str = "A Book", price_cents: int = 1000, on_hand: int = 10, **fields) -> Book:
    book = Book(title=title, price_cents=price_cents, **fields)
    db.session.add(book)
    db.session.flush()
    warehouse = db.session.query(Warehouse).filter_by(is_default=True).one()
    db.session.add(Stock(book_id=book.id, warehouse_id=warehouse.id, on_hand=on_hand))
    # The opening balance goes to the ledger too, so the ledger reconciles with the stock.
    db.session.add(
        StockMovement(
            book_id=book.id, warehouse_id=warehouse.id, delta_on_hand=on_hand, reason="import"
        )
    )
    db.session.commit()
    return book

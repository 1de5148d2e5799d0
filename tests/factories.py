"""Test data builders (plain functions over the real models).

They commit: under the ``session`` fixture a commit only releases a savepoint of the
test's outer transaction, which is rolled back after the test."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from flask import Flask

from app.auth import access_token_for
from models import (
    Author,
    Book,
    BookAuthor,
    BookGenre,
    Genre,
    Role,
    Stock,
    StockMovement,
    User,
    Warehouse,
    db,
)
from services.catalog import cache as catalog_cache


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


def make_genre(slug: str | None = None, name: str | None = None) -> Genre:
    """The genre with this slug (created when missing)."""
    slug = slug or f"genre-{uuid.uuid4().hex[:8]}"
    genre = db.session.query(Genre).filter_by(slug=slug).one_or_none()
    if genre is None:
        genre = Genre(slug=slug, name=name or slug.replace("_", " ").title())
        db.session.add(genre)
        db.session.commit()
    return genre


def make_author(name: str | None = None) -> Author:
    """The author with this name (created when missing)."""
    name = name or f"Author {uuid.uuid4().hex[:8]}"
    author = db.session.query(Author).filter_by(name=name).one_or_none()
    if author is None:
        author = Author(name=name)
        db.session.add(author)
        db.session.commit()
    return author


def make_book(
    title: str = "A Book",
    price_cents: int = 1000,
    on_hand: int = 10,
    *,
    reserved: int = 0,
    authors: Iterable[Author | str] = (),
    genres: Iterable[Genre | str] = (),
    **fields,
) -> Book:
    """A book with stock in the default warehouse; ``authors`` and ``genres`` may be
    objects, names or slugs, kept in the given order."""
    authors = [make_author(a) if isinstance(a, str) else a for a in authors]
    genres = [make_genre(g) if isinstance(g, str) else g for g in genres]
    book = Book(title=title, price_cents=price_cents, **fields)
    db.session.add(book)
    db.session.flush()
    warehouse = db.session.query(Warehouse).filter_by(is_default=True).one()
    db.session.add(
        Stock(book_id=book.id, warehouse_id=warehouse.id, on_hand=on_hand, reserved=reserved)
    )
    # The opening balance goes to the ledger too, so the ledger reconciles with the stock.
    # (``reserved`` here has no reservations behind it: only for tests of what is shown.)
    db.session.add(
        StockMovement(
            book_id=book.id,
            warehouse_id=warehouse.id,
            delta_on_hand=on_hand,
            delta_reserved=reserved,
            reason="import",
        )
    )
    for position, author in enumerate(authors):
        book.authors.append(BookAuthor(author=author, position=position))
    for position, genre in enumerate(genres):
        book.genres.append(BookGenre(genre=genre, position=position))
    db.session.commit()
    catalog_cache.invalidate()  # as every writer of books must
    return book

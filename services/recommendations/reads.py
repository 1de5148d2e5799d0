"""Serving recommendations from the neighbour table (no matrix math here): a book's
"also liked", a shopper's personal picks, and what goes with a cart. Each answer says
which ``strategy`` produced it; only active books are shown, in-stock ones first."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping

from sqlalchemy import select

from models import (
    Book,
    BookGenre,
    BookNeighbour,
    BookStatus,
    Cart,
    CartItem,
    CartStatus,
    Order,
    OrderLine,
    Review,
    db,
)
from services.catalog.reads import BOOK_SORTS, CARD_COLUMNS, DEFAULT_BOOK_SORT, book_cards
from services.errors import NotFound
from services.orders.placement import CONFIRMED_OR_LATER
from services.recommendations.build import current_generation

ITEM_ITEM = "item_item"
GENRE_BESTSELLERS = "genre_bestsellers"
BESTSELLERS = "bestsellers"
# Seeds of a shopper's picks: their latest purchases, reviews and cart lines.
MAX_SEEDS = 200
# A review's rating as a seed weight (a 1-3 star review is no reason to suggest neighbours).
REVIEW_SEED_WEIGHT = {4: 1.0, 5: 1.5}


def for_book(book_id: uuid.UUID, limit: int) -> dict:
    """Readers who liked this book also liked...; its genres' bestsellers when it has no
    neighbours yet."""
    book = db.session.get(Book, book_id)
    if book is None or book.status != BookStatus.ACTIVE:
        raise NotFound("No book with this id.")
    ranked = _neighbours_of({book_id: 1.0}, exclude={book_id})
    if ranked:
        return _answer(ranked, limit, ITEM_ITEM)
    return _fallback(_genres_of([book_id]), limit, exclude={book_id})


def for_user(user_id: uuid.UUID, limit: int) -> dict:
    """Personal picks from what the shopper bought, reviewed well and has in the cart,
    never what they already bought; bestsellers of their genres, or overall, otherwise."""
    bought = set(
        db.session.scalars(
            select(OrderLine.book_id)
            .join(Order, Order.id == OrderLine.order_id)
            .where(Order.user_id == user_id, Order.status.in_(CONFIRMED_OR_LATER))
            .order_by(Order.created_at.desc())
            .limit(MAX_SEEDS)
        )
    )
    seeds: dict[uuid.UUID, float] = dict.fromkeys(bought, 1.0)
    reviewed = db.session.execute(
        select(Review.book_id, Review.rating)
        .where(Review.user_id == user_id)
        .order_by(Review.created_at.desc())
        .limit(MAX_SEEDS)
    ).all()
    for book_id, rating in reviewed:
        seeds[book_id] = max(seeds.get(book_id, 0.0), REVIEW_SEED_WEIGHT.get(rating, 0.0))
    in_cart = cart_books(user_id)
    for book_id in in_cart:
        seeds.setdefault(book_id, 1.0)
    exclude = bought | set(in_cart) | {book_id for book_id, _ in reviewed}
    ranked = _neighbours_of({b: w for b, w in seeds.items() if w > 0}, exclude)
    if ranked:
        return _answer(ranked, limit, ITEM_ITEM)
    return _fallback(_genres_of(seeds), limit, exclude)


def for_cart(book_ids: Iterable[uuid.UUID], limit: int) -> dict:
    """Books often bought (and liked) together with the cart's books."""
    in_cart = list(book_ids)
    ranked = _neighbours_of(dict.fromkeys(in_cart, 1.0), exclude=set(in_cart))
    if ranked:
        return _answer(ranked, limit, ITEM_ITEM)
    return _fallback(_genres_of(in_cart), limit, exclude=set(in_cart))


def cart_books(user_id: uuid.UUID) -> list[uuid.UUID]:
    """The books in the shopper's open cart (a seed of their picks, so part of a cache key)."""
    return list(
        db.session.scalars(
            select(CartItem.book_id)
            .join(Cart, Cart.id == CartItem.cart_id)
            .where(Cart.user_id == user_id, Cart.status == CartStatus.OPEN)
        )
    )


def _neighbours_of(seeds: Mapping[uuid.UUID, float], exclude: set[uuid.UUID]) -> list[uuid.UUID]:
    """Active neighbours of the seeds in the current generation, best summed score first."""
    generation = current_generation()
    if generation is None or not seeds:
        return []
    rows = db.session.execute(
        select(BookNeighbour.book_id, BookNeighbour.neighbour_id, BookNeighbour.score)
        .join(Book, Book.id == BookNeighbour.neighbour_id)
        .where(
            BookNeighbour.generation == generation,
            BookNeighbour.book_id.in_(list(seeds)),
            Book.status == BookStatus.ACTIVE,
        )
    )
    scores: dict[uuid.UUID, float] = defaultdict(float)
    for seed, neighbour, score in rows:
        if neighbour not in exclude:
            scores[neighbour] += seeds[seed] * score
    return sorted(scores, key=lambda book_id: (-scores[book_id], str(book_id)))


def _genres_of(book_ids: Iterable[uuid.UUID]) -> list[uuid.UUID]:
    ids = list(book_ids)
    if not ids:
        return []
    return list(
        db.session.scalars(select(BookGenre.genre_id).where(BookGenre.book_id.in_(ids)).distinct())
    )


def _fallback(genre_ids: list[uuid.UUID], limit: int, exclude: set[uuid.UUID]) -> dict:
    stmt = select(Book.id).where(Book.status == BookStatus.ACTIVE)
    if exclude:
        stmt = stmt.where(Book.id.not_in(list(exclude)))
    if genre_ids:
        in_genres = select(BookGenre.book_id).where(BookGenre.genre_id.in_(genre_ids))
        ranked = list(
            db.session.scalars(
                stmt.where(Book.id.in_(in_genres))
                .order_by(*BOOK_SORTS[DEFAULT_BOOK_SORT].order_by())
                .limit(limit * 3)
            )
        )
        if ranked:
            return _answer(ranked, limit, GENRE_BESTSELLERS)
    ranked = list(
        db.session.scalars(
            stmt.order_by(*BOOK_SORTS[DEFAULT_BOOK_SORT].order_by()).limit(limit * 3)
        )
    )
    return _answer(ranked, limit, BESTSELLERS)


def _answer(ranked: list[uuid.UUID], limit: int, strategy: str) -> dict:
    """Cards of the best ``limit * 3`` candidates, in-stock first (stable), cut to ``limit``."""
    candidates = ranked[: limit * 3]
    rows = db.session.execute(
        select(*CARD_COLUMNS).where(Book.id.in_(candidates), Book.status == BookStatus.ACTIVE)
    ).all()
    position = {book_id: n for n, book_id in enumerate(candidates)}
    cards = book_cards(sorted(rows, key=lambda row: position[row.id]))
    cards.sort(key=lambda card: not card["availability"]["in_stock"])
    return {"items": cards[:limit], "strategy": strategy}

"""Shoppers, carts and books for the recommendation rows of ``make bench``.

    python -m tests.bench.recommendations   (with the benchmark's DATABASE_URL etc.)

Picks BOOKS books that have neighbours in the current build, makes SHOPPERS customers with a
delivered order of two of them, and GUEST_CARTS guest carts holding one or two, then prints
one JSON line: the wrk path lines (``PATH<TAB>Header: value``) of each scenario."""

from __future__ import annotations

import json
import os
import random
import uuid

from flask import current_app
from sqlalchemy import select

from app import create_app
from app.auth import access_token_for
from models import Book, BookNeighbour, BookStatus, RecommendationBuild, User, db
from tests.support.recommendations import delivered_order

BOOKS = int(os.environ.get("BENCH_RECOMMENDATION_BOOKS", "300"))
SHOPPERS = int(os.environ.get("BENCH_SHOPPERS", "100"))
GUEST_CARTS = int(os.environ.get("BENCH_GUEST_CARTS", "100"))


def prepare() -> dict[str, list[str]]:
    rng = random.Random(11)
    current = select(RecommendationBuild.generation).where(RecommendationBuild.current.is_(True))
    seeded = list(
        db.session.scalars(
            select(BookNeighbour.book_id)
            .join(Book, Book.id == BookNeighbour.book_id)
            .where(
                BookNeighbour.generation == current.scalar_subquery(),
                BookNeighbour.rank == 0,
                Book.status == BookStatus.ACTIVE,
            )
            .order_by(BookNeighbour.book_id)
        )
    )
    if not seeded:
        raise SystemExit("no recommendations built: run `flask recommendations build` first")
    books = rng.sample(seeded, min(BOOKS, len(seeded)))
    shoppers = []
    for _ in range(SHOPPERS):
        user = User(
            email=f"bench-{uuid.uuid4().hex[:12]}@example.com",
            password_hash="!",  # never logs in: the token is issued directly
            name="Bench Shopper",
        )
        db.session.add(user)
        db.session.commit()
        delivered_order(user, *(db.session.get(Book, b) for b in rng.sample(books, 2)))
        token = access_token_for(user)
        shoppers.append(f"/api/v1/me/recommendations\tAuthorization: Bearer {token}")
    carts = []
    client = current_app.test_client()
    while len(carts) < GUEST_CARTS:
        token = None
        for book_id in rng.sample(books, rng.choice((1, 2))):
            headers = {"X-Cart-Token": token} if token else {}
            answer = client.post(
                "/api/v1/cart/items", json={"book_id": str(book_id), "quantity": 1}, headers=headers
            )
            if answer.status_code == 409:  # out of stock (some real books start at 0)
                continue
            assert answer.status_code in (200, 201), answer.get_json()
            token = token or answer.headers["X-Cart-Token"]
        if token:
            carts.append(f"/api/v1/cart/recommendations\tX-Cart-Token: {token}")
    return {
        "also liked": [f"/api/v1/books/{book_id}/recommendations" for book_id in books],
        "personal picks (/me)": shoppers,
        "cart (guest)": carts,
    }


def main() -> None:
    app = create_app()
    with app.app_context():
        print(json.dumps(prepare()))
        db.session.remove()


if __name__ == "__main__":
    main()

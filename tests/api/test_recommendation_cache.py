"""Recommendation answers come from Redis until something they depend on changes: a new build
(every list), the shopper's orders or reviews (their picks), the cart's books (its key).

Each test first shows an answer is served from the cache (the neighbour table is emptied
behind the cache's back and the answer does not change), then that the change it depends on
makes the next answer fresh."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import delete

from models import BookNeighbour, OrderStatus, db
from services.recommendations.build import build
from tests.factories import auth_headers, make_book, make_user
from tests.support.orders import wait_for_idle_workers
from tests.support.recommendations import delivered_order


def write_csv(folder, rows) -> None:
    folder.mkdir(exist_ok=True)
    lines = ["book_id,user_id,rating"] + [",".join(map(str, row)) for row in rows]
    (folder / "ratings.csv").write_text("\n".join(lines) + "\n")


def liked_together(*groups) -> list[tuple[int, int, int]]:
    """Two readers per group who each gave every book of the group 5 stars."""
    rows = []
    for number, group in enumerate(groups):
        for reader in (2 * number + 1, 2 * number + 2):
            rows += [(source_id, reader, 5) for source_id in group]
    return rows


@pytest.fixture
def books(committed, tmp_path):
    """Books A..D (source ids 910000..910003); readers liked A with B and C; built once."""
    made = {name: make_book(f"Book {name}", source_id=910_000 + n) for n, name in enumerate("ABCD")}
    write_csv(tmp_path / "data", liked_together((910_000, 910_001, 910_002)))
    assert build(tmp_path / "data").generation == 1
    return made


def forget_neighbours() -> None:
    """Empty the neighbour table without telling the cache."""
    db.session.execute(delete(BookNeighbour))
    db.session.commit()


def titles(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return sorted(item["title"] for item in response.get_json()["items"])


def test_a_books_list_is_cached_until_a_build_publishes(app, books, tmp_path):
    client = app.test_client()
    url = f"/api/v1/books/{books['A'].id}/recommendations"
    assert titles(client.get(url)) == ["Book B", "Book C"]

    forget_neighbours()
    assert titles(client.get(url)) == ["Book B", "Book C"]  # from the cache

    # A new build (now A goes with D only) publishes: the cached list is stale at once.
    write_csv(tmp_path / "data", liked_together((910_000, 910_003)))
    assert build(tmp_path / "data").generation == 2
    response = client.get(url)
    assert titles(response) == ["Book D"] and response.get_json()["strategy"] == "item_item"


def settle_live_workers(app) -> None:
    """A review sends a rating refresh and a debounced reindex; a worker left alive by an
    earlier test runs them and moves the catalog generation, which makes every cached answer
    stale (seen in CI: a "cached" answer rebuilt mid-test). Let them land first."""
    celery_app = app.extensions["celery"]
    if not celery_app.control.ping(timeout=0.5):
        return  # no worker: nothing runs behind the test's back
    wait_for_idle_workers(celery_app)
    time.sleep(celery_app.conf.search_reindex_debounce_seconds + 0.3)  # the held wake-up
    wait_for_idle_workers(celery_app)


def test_a_shoppers_picks_follow_their_reviews_and_orders(app, books):
    client = app.test_client()
    shopper = make_user()
    headers = auth_headers(app, shopper)
    order = delivered_order(shopper, books["A"])
    assert titles(client.get("/api/v1/me/recommendations", headers=headers)) == [
        "Book B",
        "Book C",
    ]
    other = make_user()
    # given the picks are cached (another shopper's picks are not theirs)
    assert client.get("/api/v1/me/recommendations", headers=auth_headers(app, other)).get_json()[
        "strategy"
    ] in ("genre_bestsellers", "bestsellers")

    # when the shopper reviews B: reviewed books leave their picks
    reviewed = client.post(
        f"/api/v1/books/{books['B'].id}/reviews",
        json={"rating": 5, "body": "Loved it."},
        headers=headers,
    )
    assert reviewed.status_code == 201, reviewed.get_json()
    settle_live_workers(app)
    assert titles(client.get("/api/v1/me/recommendations", headers=headers)) == ["Book C"]

    # when the order is refunded (it left confirmed-or-later): A is no longer bought, and the
    # picks are recomputed from the 5-star review of B alone (B's neighbours: A and C)
    db.session.get(type(order), order.id).status = OrderStatus.REFUNDED
    db.session.commit()
    assert titles(client.get("/api/v1/me/recommendations", headers=headers)) == [
        "Book A",
        "Book C",
    ]

    # and a cached answer survives what it does not depend on
    forget_neighbours()
    assert titles(client.get("/api/v1/me/recommendations", headers=headers)) == [
        "Book A",
        "Book C",
    ]
    # until the review is withdrawn
    withdrawn = client.delete(f"/api/v1/books/{books['B'].id}/reviews/mine", headers=headers)
    assert withdrawn.status_code == 204
    fresh = client.get("/api/v1/me/recommendations", headers=headers).get_json()
    assert fresh["strategy"] in ("genre_bestsellers", "bestsellers")


def test_a_carts_list_is_keyed_by_its_books(app, books):
    client = app.test_client()
    added = client.post("/api/v1/cart/items", json={"book_id": str(books["B"].id), "quantity": 1})
    token = {"X-Cart-Token": added.headers["X-Cart-Token"]}
    assert titles(client.get("/api/v1/cart/recommendations", headers=token)) == [
        "Book A",
        "Book C",
    ]

    forget_neighbours()
    assert titles(client.get("/api/v1/cart/recommendations", headers=token)) == [
        "Book A",
        "Book C",
    ]
    # another book in the cart: another key, computed now (no neighbours left: bestsellers)
    client.post(
        "/api/v1/cart/items", json={"book_id": str(books["D"].id), "quantity": 1}, headers=token
    )
    body = client.get("/api/v1/cart/recommendations", headers=token).get_json()
    assert body["strategy"] in ("genre_bestsellers", "bestsellers")
    assert "Book B" not in [item["title"] for item in body["items"]]

"""Reviews on a real worker: verified purchase from a real order, and the rating summary
recomputed by the task after each change (hidden reviews leave it; it always adds up)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models import Book, OutboxMessage, ReindexRequest, Review, Role, db
from tests.factories import auth_headers, make_book, make_user
from tests.support.orders import add_to_cart, check_out, wait_for_order
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.usefixtures("idle_workers_at_end")]


@pytest.fixture
def shop(app, committed, worker):
    return app.test_client()


def detail(shop, book_id) -> dict:
    return shop.get(f"/api/v1/books/{book_id}").get_json()


def summary_is(shop, book_id, histogram: dict) -> dict | None:
    body = detail(shop, book_id)
    return body if body["rating_histogram"] == histogram else None


def test_a_buyer_review_is_verified_and_a_strangers_is_not(shop, app):
    buyer = make_user()
    buyer_headers = auth_headers(app, buyer)
    stranger_headers = auth_headers(app, make_user())
    book = make_book("Bought", price_cents=900)
    add_to_cart(shop, buyer_headers, book)
    order = wait_for_order(shop, buyer_headers, check_out(shop, buyer_headers).get_json()["id"])
    assert order["status"] == "confirmed"

    mine = shop.post(
        f"/api/v1/books/{book.id}/reviews",
        json={"rating": 5, "body": "Yes."},
        headers=buyer_headers,
    )
    theirs = shop.post(
        f"/api/v1/books/{book.id}/reviews",
        json={"rating": 1, "body": "No."},
        headers=stranger_headers,
    )

    assert mine.status_code == 201 and mine.get_json()["verified_purchase"] is True
    assert theirs.status_code == 201 and theirs.get_json()["verified_purchase"] is False

    # The money goes back (cancelled after confirmation): the review is no longer verified.
    cancelled = shop.post(f"/api/v1/orders/{order['id']}/cancel", headers=buyer_headers)
    assert cancelled.status_code == 200, cancelled.get_json()
    db.session.expire_all()
    assert db.session.get(Review, mine.get_json()["id"]).verified_purchase is False


def test_the_summary_combines_imported_ratings_and_visible_reviews(shop, app):
    imported = {"1": 1, "2": 0, "3": 2, "4": 3, "5": 4}
    book = make_book(
        "Rated", imported_ratings=imported, rating_histogram=imported, ratings_count=10
    )
    staff_headers = auth_headers(app, make_user(role=Role.STAFF))
    review_ids = []
    for rating in (5, 1, 2):
        headers = auth_headers(app, make_user())
        response = shop.post(
            f"/api/v1/books/{book.id}/reviews",
            json={"rating": rating, "body": "x"},
            headers=headers,
        )
        review_ids.append(response.get_json()["id"])

    combined = wait_for(lambda: summary_is(shop, book.id, {"1": 2, "2": 1, "3": 2, "4": 3, "5": 5}))
    assert combined["ratings_count"] == 13 == sum(combined["rating_histogram"].values())
    assert combined["average_rating"] == round((2 + 2 + 6 + 12 + 25) / 13, 2)

    shop.post(
        f"/api/v1/reviews/{review_ids[0]}/hide", json={"reason": "spam"}, headers=staff_headers
    )
    without = wait_for(lambda: summary_is(shop, book.id, {"1": 2, "2": 1, "3": 2, "4": 3, "5": 4}))
    assert without["ratings_count"] == 12 == sum(without["rating_histogram"].values())

    # The book was recorded for search reindexing each time its summary changed.
    db.session.expire_all()
    assert db.session.scalar(
        select(ReindexRequest.id).where(ReindexRequest.book_id == book.id).limit(1)
    )
    payloads = list(
        db.session.scalars(
            select(OutboxMessage.payload).where(OutboxMessage.kind == "reindex_books")
        )
    )
    # One per change the task saw: the reviews may be summed by one run or by one each.
    assert 2 <= len(payloads) <= 4
    assert all(p == {"book_ids": [str(book.id)], "reason": "rating"} for p in payloads)


def test_a_book_imported_without_a_histogram_keeps_its_count_and_average(shop, app):
    book = make_book("Legacy", average_rating=4.3, ratings_count=1000)
    headers = auth_headers(app, make_user())

    shop.post(f"/api/v1/books/{book.id}/reviews", json={"rating": 5, "body": "x"}, headers=headers)

    body = wait_for(lambda: (b := detail(shop, book.id))["ratings_count"] == 1001 and b)
    assert body["rating_histogram"] == {"1": 0, "2": 0, "3": 0, "4": 700, "5": 301}
    assert sum(body["rating_histogram"].values()) == body["ratings_count"]
    db.session.expire_all()
    assert db.session.get(Book, book.id).imported_ratings == {
        "1": 0,
        "2": 0,
        "3": 0,
        "4": 700,
        "5": 300,
    }

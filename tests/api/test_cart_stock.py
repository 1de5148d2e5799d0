"""The cart tells the truth early: more copies than available is a 409 with `available`,
and GET /cart lists the lines that can no longer be ordered as they stand."""

from __future__ import annotations

from sqlalchemy import update

from models import Book, Stock, db
from tests.factories import auth_headers, make_book, make_user

ITEMS = "/api/v1/cart/items"


def test_adding_or_raising_beyond_available_is_409_with_available(client, app):
    # given 16 copies on hand, 2 of them reserved by orders
    headers = auth_headers(app, make_user())
    book = make_book("Scarce", on_hand=16, reserved=2)
    # when a shopper asks for 20
    response = client.post(ITEMS, json={"book_id": str(book.id), "quantity": 20}, headers=headers)
    # then it is told at once how many there are
    assert response.status_code == 409
    body = response.get_json()
    assert body["error"] == "insufficient_stock"
    assert body["errors"] == {"book_id": str(book.id), "requested": 20, "available": 14}
    # and what is available can be added, but not one more (adding up, or setting)
    ok = client.post(ITEMS, json={"book_id": str(book.id), "quantity": 14}, headers=headers)
    assert ok.status_code == 200
    more = client.post(ITEMS, json={"book_id": str(book.id), "quantity": 1}, headers=headers)
    assert more.status_code == 409 and more.get_json()["errors"]["available"] == 14
    raised = client.patch(f"{ITEMS}/{book.id}", json={"quantity": 15}, headers=headers)
    assert raised.status_code == 409
    # and lowering a quantity is always allowed
    lowered = client.patch(f"{ITEMS}/{book.id}", json={"quantity": 3}, headers=headers)
    assert lowered.status_code == 200
    assert lowered.get_json()["problems"] == []


def test_get_cart_lists_lines_that_became_unavailable(client, app, session):
    # given a cart with two books
    headers = auth_headers(app, make_user())
    sold_out, archived, fine = make_book("Sold out"), make_book("Archived"), make_book("Fine")
    for book in (sold_out, archived, fine):
        client.post(ITEMS, json={"book_id": str(book.id), "quantity": 2}, headers=headers)
    # when one sells out to one copy and another is archived
    db.session.execute(update(Stock).where(Stock.book_id == sold_out.id).values(on_hand=1))
    db.session.execute(update(Book).where(Book.id == archived.id).values(status="archived"))
    db.session.commit()
    # then the cart flags both, with what can still be had
    problems = client.get("/api/v1/cart", headers=headers).get_json()["problems"]
    assert sorted(problems, key=lambda p: p["error"]) == [
        {"book_id": str(archived.id), "error": "book_unavailable", "available": 0},
        {"book_id": str(sold_out.id), "error": "insufficient_stock", "available": 1},
    ]

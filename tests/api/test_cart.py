"""Cart API: guest carts by token, user carts, bounds, archived books, merging, locking."""

from __future__ import annotations

import uuid

from models import Cart, CartStatus, db
from tests.factories import auth_headers, make_book, make_user


def test_a_guest_gets_a_token_on_first_use_and_keeps_the_cart_with_it(client):
    book = make_book("Dune", price_cents=1250, on_hand=3)

    first = client.post("/api/v1/cart/items", json={"book_id": str(book.id), "quantity": 2})
    token = first.headers["X-Cart-Token"]
    again = client.get("/api/v1/cart", headers={"X-Cart-Token": token})

    assert first.status_code == 200
    body = again.get_json()
    assert body["items"] == [
        {
            "book_id": str(book.id),
            "title": "Dune",
            "quantity": 2,
            "unit_price_cents": 1250,
            "line_total_cents": 2500,
            "available": 3,
        }
    ]
    assert body["subtotal_cents"] == 2500 and body["locked"] is False
    assert "X-Cart-Token" not in again.headers
    stored = db.session.get(Cart, uuid.UUID(body["id"]))
    assert stored.token_hash != token and len(stored.token_hash) == 64


def test_without_a_cart_get_answers_an_empty_one(client):
    response = client.get("/api/v1/cart")
    assert response.status_code == 200
    assert response.get_json()["items"] == [] and response.get_json()["id"] is None


def test_quantities_add_up_and_are_bounded(client, app):
    user = make_user()
    book = make_book(on_hand=100)
    headers = auth_headers(app, user)
    client.post(
        "/api/v1/cart/items", json={"book_id": str(book.id), "quantity": 30}, headers=headers
    )

    too_many = client.post(
        "/api/v1/cart/items", json={"book_id": str(book.id), "quantity": 21}, headers=headers
    )
    zero = client.patch(f"/api/v1/cart/items/{book.id}", json={"quantity": 0}, headers=headers)
    fifty = client.patch(f"/api/v1/cart/items/{book.id}", json={"quantity": 50}, headers=headers)

    assert too_many.status_code == 422 and too_many.get_json()["error"] == "quantity_out_of_range"
    assert zero.status_code == 422
    assert fifty.status_code == 200 and fifty.get_json()["items"][0]["quantity"] == 50


def test_unknown_and_archived_books_cannot_be_added(client, app):
    headers = auth_headers(app, make_user())
    archived = make_book(status="archived")

    unknown = client.post(
        "/api/v1/cart/items", json={"book_id": str(uuid.uuid4())}, headers=headers
    )
    gone = client.post("/api/v1/cart/items", json={"book_id": str(archived.id)}, headers=headers)
    malformed = client.post("/api/v1/cart/items", json={"book_id": "nope"}, headers=headers)

    assert unknown.status_code == 404 and unknown.get_json()["error"] == "book_not_found"
    assert gone.status_code == 422 and gone.get_json()["error"] == "book_unavailable"
    assert malformed.status_code == 422


def test_items_can_be_changed_removed_and_the_cart_emptied(client, app):
    headers = auth_headers(app, make_user())
    one, two = make_book("One"), make_book("Two")
    for book in (one, two):
        client.post("/api/v1/cart/items", json={"book_id": str(book.id)}, headers=headers)

    removed = client.delete(f"/api/v1/cart/items/{one.id}", headers=headers)
    missing = client.delete(f"/api/v1/cart/items/{one.id}", headers=headers)
    emptied = client.delete("/api/v1/cart", headers=headers)

    assert [item["title"] for item in removed.get_json()["items"]] == ["Two"]
    assert missing.status_code == 404 and missing.get_json()["error"] == "cart_item_not_found"
    assert emptied.get_json()["items"] == []


def test_a_guest_cart_merges_into_the_users_cart(client, app):
    user = make_user()
    headers = auth_headers(app, user)
    shared, guest_only = make_book("Shared"), make_book("Guest only")
    client.post(
        "/api/v1/cart/items", json={"book_id": str(shared.id), "quantity": 1}, headers=headers
    )
    guest = client.post("/api/v1/cart/items", json={"book_id": str(shared.id), "quantity": 2})
    token = guest.headers["X-Cart-Token"]
    client.post(
        "/api/v1/cart/items",
        json={"book_id": str(guest_only.id)},
        headers={"X-Cart-Token": token},
    )

    merged = client.get("/api/v1/cart", headers={**headers, "X-Cart-Token": token})

    quantities = {item["title"]: item["quantity"] for item in merged.get_json()["items"]}
    assert quantities == {"Shared": 3, "Guest only": 1}
    assert client.get("/api/v1/cart", headers={"X-Cart-Token": token}).get_json()["id"] is None


def test_logging_in_with_the_guest_cart_token_merges_the_guest_cart(client, app):
    # given a shopper with a cart of their own, and a guest cart from before they logged in
    user = make_user(email="merge-at-login@example.com")
    shared, guest_only = make_book("Shared"), make_book("Guest only")
    client.post(
        "/api/v1/cart/items",
        json={"book_id": str(shared.id), "quantity": 1},
        headers=auth_headers(app, user),
    )
    guest = client.post("/api/v1/cart/items", json={"book_id": str(shared.id), "quantity": 2})
    token = guest.headers["X-Cart-Token"]
    client.post(
        "/api/v1/cart/items", json={"book_id": str(guest_only.id)}, headers={"X-Cart-Token": token}
    )
    # when they log in sending the guest cart's token
    login = client.post(
        "/api/v1/auth/login",
        json={"email": user.email, "password": "correct horse battery staple"},
        headers={"X-Cart-Token": token},
    )
    assert login.status_code == 200, login.get_json()
    # then their cart holds both, without sending the token again
    bearer = {"Authorization": f"Bearer {login.get_json()['access_token']}"}
    quantities = {
        item["title"]: item["quantity"]
        for item in client.get("/api/v1/cart", headers=bearer).get_json()["items"]
    }
    assert quantities == {"Shared": 3, "Guest only": 1}


def test_a_locked_cart_refuses_changes(client, app):
    user = make_user()
    headers = auth_headers(app, user)
    book = make_book()
    body = client.post("/api/v1/cart/items", json={"book_id": str(book.id)}, headers=headers)
    cart = db.session.get(Cart, uuid.UUID(body.get_json()["id"]))
    cart.status = CartStatus.LOCKED
    db.session.commit()

    response = client.patch(f"/api/v1/cart/items/{book.id}", json={"quantity": 2}, headers=headers)

    assert response.status_code == 409 and response.get_json()["error"] == "cart_locked"
    assert client.get("/api/v1/cart", headers=headers).get_json()["locked"] is True

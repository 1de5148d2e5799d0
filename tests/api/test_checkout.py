"""Checkout API: shipping methods, quotes, placing the order (202), idempotency, validation."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, update

from models import Book, Cart, Order, OutboxMessage, Promotion, db
from tests.factories import auth_headers, make_book, make_user
from tests.support.orders import ADDRESS, add_to_cart, check_out, checkout_body


def _shopper(app, client, *books_and_quantities):
    headers = auth_headers(app, make_user())
    for book, quantity in books_and_quantities:
        add_to_cart(client, headers, book, quantity)
    return headers


def test_shipping_methods_are_priced_per_country(client):
    home = client.get("/api/v1/shipping-methods?country=US").get_json()["items"]
    abroad = client.get("/api/v1/shipping-methods?country=DE").get_json()["items"]
    bad = client.get("/api/v1/shipping-methods?country=usa")

    assert [method["code"] for method in home] == ["standard", "express"]
    assert home[0]["price_cents"] == 499 + 99 and home[0]["free_over_cents"] == 5000
    assert abroad[0]["price_cents"] == home[0]["price_cents"] + 1000
    assert bad.status_code == 422


def test_a_quote_adds_discount_shipping_and_tax(client, app):
    book = make_book(price_cents=2000)
    headers = _shopper(app, client, (book, 2))
    db.session.add(Promotion(code="TENOFF", kind="percent", value=10))
    db.session.commit()

    us = client.post("/api/v1/checkout/quote", json=checkout_body(), headers=headers)
    de = client.post(
        "/api/v1/checkout/quote",
        json=checkout_body(shipping_address={**ADDRESS, "country": "DE"}, promo_code="tenoff"),
        headers=headers,
    )

    assert us.get_json() == {
        "subtotal_cents": 4000,
        "discount_cents": 0,
        "shipping_cents": 499 + 2 * 99,
        "tax_cents": 0,
        "total_cents": 4000 + 697,
        "currency": "USD",
    }
    quote = de.get_json()
    assert quote["discount_cents"] == 400
    # Abroad: standard + surcharge; DE books are taxed 7 % on goods and shipping.
    assert quote["shipping_cents"] == 697 + 1000
    assert quote["tax_cents"] == round((3600 + 1697) * 0.07)
    assert quote["total_cents"] == 3600 + 1697 + quote["tax_cents"]


def test_free_standard_shipping_over_the_threshold(client, app):
    headers = _shopper(app, client, (make_book(price_cents=6000), 1))
    quote = client.post("/api/v1/checkout/quote", json=checkout_body(), headers=headers)
    assert quote.get_json()["shipping_cents"] == 0


def test_checkout_creates_a_pending_order_locks_the_cart_and_records_the_work(client, app):
    book = make_book("Snapshot", price_cents=1500)
    headers = _shopper(app, client, (book, 2))

    response = check_out(client, headers)

    assert response.status_code == 202
    body = response.get_json()
    assert response.headers["Location"] == f"/api/v1/orders/{body['id']}"
    assert body["status"] == "pending"
    assert body["items"] == [
        {
            "book_id": str(book.id),
            "title": "Snapshot",
            "quantity": 2,
            "unit_price_cents": 1500,
            "line_total_cents": 3000,
        }
    ]
    assert [entry["step"] for entry in body["timeline"]] == [
        "reserve_stock",
        "capture_payment",
        "confirm_order",
        "send_order_email",
        "request_shipment",
        "reindex_books",
    ]
    assert {entry["status"] for entry in body["timeline"]} == {"pending"}
    order = db.session.get(Order, uuid.UUID(body["id"]))
    assert db.session.get(Cart, order.cart_id).status == "locked"
    message = db.session.scalars(select(OutboxMessage)).one()
    assert message.payload == {"order_id": body["id"]} and message.sent_at is not None
    locked = client.post("/api/v1/cart/items", json={"book_id": str(book.id)}, headers=headers)
    assert locked.status_code == 409 and locked.get_json()["error"] == "cart_locked"
    again = check_out(client, headers)
    assert again.status_code == 409 and again.get_json()["error"] == "cart_locked"


def test_a_price_change_after_checkout_does_not_change_the_order(client, app):
    book = make_book(price_cents=1500)
    headers = _shopper(app, client, (book, 1))
    order_id = check_out(client, headers).get_json()["id"]

    db.session.execute(update(Book).where(Book.id == book.id).values(price_cents=9900))
    db.session.commit()

    order = client.get(f"/api/v1/orders/{order_id}", headers=headers).get_json()
    assert order["items"][0]["unit_price_cents"] == 1500


def test_the_same_idempotency_key_and_body_return_the_same_order(client, app):
    headers = _shopper(app, client, (make_book(), 1))

    first = check_out(client, headers, key="key-1")
    replay = check_out(client, headers, key="key-1")
    other_body = check_out(client, headers, key="key-1", shipping_method="express")

    assert first.status_code == replay.status_code == 202
    assert replay.get_json()["id"] == first.get_json()["id"]
    assert replay.headers["Location"] == first.headers["Location"]
    assert other_body.status_code == 409
    assert other_body.get_json()["error"] == "idempotency_conflict"
    assert db.session.scalar(select(func.count()).select_from(Order)) == 1


def test_checkout_refuses_bad_input_with_error_ids(client, app):
    headers = _shopper(app, client)
    book = make_book()

    empty = check_out(client, headers)
    add_to_cart(client, headers, book)
    bad_card = check_out(client, headers, payment_method="4242424242424242")
    no_address = client.post(
        "/api/v1/checkout",
        json={"shipping_method": "standard", "payment_method": "pm_card_visa"},
        headers=headers,
    )
    bad_method = check_out(client, headers, shipping_method="teleport")
    bad_promo = check_out(client, headers, promo_code="NOPE")
    anonymous = client.post("/api/v1/checkout", json=checkout_body())

    assert empty.status_code == 422 and empty.get_json()["error"] == "cart_empty"
    # A raw card number is refused as such: we never take card data.
    assert bad_card.status_code == 422 and bad_card.get_json()["error"] == "card_data_refused"
    assert no_address.status_code == 422
    assert bad_method.status_code == 422
    assert bad_promo.status_code == 422 and bad_promo.get_json()["error"] == "promo_code_invalid"
    # a caller with no login is a guest now: without its cart token there is nothing to order
    assert anonymous.status_code == 422 and anonymous.get_json()["error"] == "cart_token_required"
    assert db.session.scalar(select(func.count()).select_from(Order)) == 0


def test_an_archived_book_in_the_cart_blocks_checkout(client, app):
    book = make_book()
    headers = _shopper(app, client, (book, 1))
    db.session.execute(update(Book).where(Book.id == book.id).values(status="archived"))
    db.session.commit()

    response = check_out(client, headers)

    assert response.status_code == 422 and response.get_json()["error"] == "book_unavailable"


def test_guest_checkouts_past_the_limit_are_refused_while_accounts_are_not(client, app):
    # Given a guest who already checked out as often as the limit allows (the limit counts
    # every attempt, here without a cart token)
    allowed = int(app.config["RATE_LIMIT_GUEST_CHECKOUT"].split(" per ")[0])
    body = checkout_body(email=f"limit-{uuid.uuid4().hex[:8]}@example.com")
    for _ in range(allowed):
        assert client.post("/api/v1/checkout", json=body).status_code != 429

    # When the guest tries once more, and a shopper with an account checks out meanwhile
    refused = client.post("/api/v1/checkout", json=body)
    account = check_out(client, _shopper(app, client, (make_book(on_hand=3), 1)))

    # Then the guest is refused with a 429 and Retry-After; the account's checkout is accepted
    assert refused.status_code == 429 and refused.json["error"] == "rate_limited"
    assert refused.headers.get("Retry-After")
    assert account.status_code == 202, account.get_json()

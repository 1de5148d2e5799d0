"""Examples of the main shopper bodies for the OpenAPI document (register, login, cart,
checkout, order, book, search), taken from real answers of the app and shortened.

``tests/api/test_openapi_examples.py`` loads every request example through its operation's
schema and checks every response example against the document, so they cannot drift."""

from __future__ import annotations

from services.orders.checkout import PLACEMENT_STEPS

BOOK_ID = "78f1b8b1-bf15-4d52-b7bc-8f51cab68413"
ORDER_ID = "4d5ae833-65f4-4b88-84fc-132f5315ca05"
_AUTHOR = {"id": "c076d1c4-b87f-4585-b265-8842cef2cac5", "name": "J.R.R. Tolkien"}

REGISTER = {"email": "ada@example.com", "password": "correct horse battery staple", "name": "Ada"}
USER = {
    "id": "35f6f06a-3493-4ee6-a651-9fed9e1c54a9",
    "email": "ada@example.com",
    "name": "Ada",
    "role": "customer",
    "email_verified": False,
    "email_verified_at": None,
    "created_at": "2026-12-01T15:56:21.158050+00:00",
    "unread_notifications": 0,
}
LOGIN = {"email": "ada@example.com", "password": "correct horse battery staple"}
TOKENS = {
    "access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIzNWY2In0.Ko1vehCa30QNk8aK",
    "refresh_token": "FShj4RHi6P0L3a6ioWf_5WOveXhDRSUeAP4wPDh6gWtC1u5K6PbOgi6-xK7LuTuA",
    "token_type": "Bearer",
    "expires_in": 900,
}

ADD_TO_CART = {"book_id": BOOK_ID, "quantity": 2}
CART = {
    "id": "3b22c0d7-88b1-4309-afa6-4d526afd16f0",
    "items": [
        {
            "book_id": BOOK_ID,
            "title": "The Hobbit",
            "quantity": 2,
            "unit_price_cents": 1299,
            "line_total_cents": 2598,
            "available": 12,
        }
    ],
    "subtotal_cents": 2598,
    "currency": "USD",
    "expires_at": "2026-12-08T15:56:22.306777+00:00",
    "locked": False,
    "problems": [],
}

_ADDRESS = {
    "name": "Ada Lovelace",
    "line1": "1 Analytical Way",
    "line2": None,
    "city": "Springfield",
    "region": "IL",
    "postal_code": "62701",
    "country": "US",
}
CHECKOUT = {
    "shipping_address": _ADDRESS,
    "shipping_method": "standard",
    "payment_method": "pm_card_visa",
    "promo_code": None,
}
ORDER = {
    "id": ORDER_ID,
    "number": "BK-000001",
    "status": "pending",
    "status_reason": None,
    "items": [
        {
            "book_id": BOOK_ID,
            "title": "The Hobbit",
            "quantity": 2,
            "unit_price_cents": 1299,
            "line_total_cents": 2598,
        }
    ],
    "subtotal_cents": 2598,
    "discount_cents": 0,
    "shipping_cents": 697,
    "tax_cents": 0,
    "total_cents": 3295,
    "currency": "USD",
    "promo_code": None,
    "shipping_address": _ADDRESS,
    "shipping_method": "standard",
    "payment": {
        "provider": "stripe",
        "status": "pending",
        "amount_cents": 3295,
        "currency": "USD",
        "card": None,
        "refunded_cents": 0,
    },
    "shipment": {"carrier": None, "tracking_number": None, "status": None, "events": []},
    "timeline": [
        {
            "step": step,
            "status": "pending",
            "attempts": 0,
            "started_at": None,
            "finished_at": None,
            "error": None,
        }
        for step in PLACEMENT_STEPS
    ],
    "payment_deadline": "2026-12-01T16:26:22.384787+00:00",
    "created_at": "2026-12-01T15:56:22.384787+00:00",
    "updated_at": "2026-12-01T15:56:22.384787+00:00",
}

BOOK_CARD = {
    "id": BOOK_ID,
    "isbn13": "9780547928227",
    "title": "The Hobbit",
    "authors": [_AUTHOR],
    "genres": ["fantasy", "classics"],
    "language": "en",
    "publication_year": 1937,
    "price_cents": 1299,
    "currency": "USD",
    "cover_url": "https://images.gr-assets.com/books/1372847500m/5907.jpg",
    "average_rating": 4.25,
    "ratings_count": 2071616,
    "availability": {"in_stock": True, "available": 12},
}
BOOK = {
    **BOOK_CARD,
    "description": "Bilbo Baggins is a hobbit who enjoys a comfortable, unambitious life...",
    "page_count": 366,
    "rating": {"average": 4.25, "count": 2071616},
    "rating_histogram": {"1": 32048, "2": 54789, "3": 321584, "4": 698316, "5": 964879},
}
BOOK_PAGE = {"items": [BOOK_CARD], "next_cursor": "eyJrIjpbIjAwMDAxIl19.c2lnbmF0dXJl"}
SEARCH_PAGE = {
    "items": [
        {
            **BOOK_CARD,
            "highlight": {"title": "The <mark>Hobbit</mark>", "description": "the <mark>hobbit"},
        }
    ],
    "total": 1,
    "total_is_exact": True,
    "facets": {
        "genres": [{"value": "fantasy", "count": 1}],
        "languages": [{"value": "en", "count": 1}],
        "price": [
            {"from_cents": 0, "to_cents": 1000, "count": 0},
            {"from_cents": 1000, "to_cents": 2000, "count": 1},
            {"from_cents": 2000, "to_cents": None, "count": 0},
        ],
        "rating": [{"min": 4, "count": 1}, {"min": 3, "count": 1}],
    },
    "next_cursor": None,
    "did_you_mean": None,
}

"""Checkout refuses unknown payment methods and raw card numbers before an order exists."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from models import Order, db
from tests.factories import auth_headers, make_book, make_user
from tests.support.orders import ADDRESS, add_to_cart, check_out


@pytest.fixture
def shopper(app, client):
    headers = auth_headers(app, make_user())
    add_to_cart(client, headers, make_book(on_hand=5), 1)
    return headers


def _orders() -> int:
    return db.session.scalar(select(func.count()).select_from(Order))


def test_an_unknown_payment_method_is_a_422_and_no_order(client, shopper):
    response = check_out(client, shopper, payment_method="pm_card_bogus")

    assert response.status_code == 422
    assert response.get_json()["error"] == "invalid_payment_method"
    assert _orders() == 0
    assert client.get("/api/v1/cart", headers=shopper).get_json()["locked"] is False


@pytest.mark.parametrize("payment_method", ["4242424242424242", "4242 4242 4242 4242"])
def test_a_card_number_as_payment_method_is_refused(client, shopper, payment_method):
    response = check_out(client, shopper, payment_method=payment_method)

    assert response.status_code == 422
    assert response.get_json()["error"] == "card_data_refused"
    assert _orders() == 0


def test_a_card_number_anywhere_in_the_body_is_refused(client, shopper):
    address = {**ADDRESS, "line2": "card 4000 0027 6000 3184"}

    response = check_out(client, shopper, shipping_address=address)

    assert response.status_code == 422
    assert response.get_json()["error"] == "card_data_refused"
    assert _orders() == 0


def test_a_documented_test_card_is_accepted(client, shopper):
    response = check_out(client, shopper, payment_method="pm_card_amex")

    assert response.status_code == 202
    assert response.get_json()["payment"]["status"] == "pending"
    assert _orders() == 1


def test_the_payment_status_is_an_enum_in_the_openapi_document(client):
    spec = client.get("/openapi.json").get_json()

    status = spec["components"]["schemas"]["Payment"]["properties"]["status"]
    assert status["enum"] == [
        "pending",
        "requires_action",
        "authorized",
        "captured",
        "partially_refunded",
        "refunded",
        "voided",
        "failed",
    ]

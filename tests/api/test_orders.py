"""Orders API: own history with cursor paging, privacy, staff shipping and delivery."""

from __future__ import annotations

import uuid

from sqlalchemy import update

from models import Order, db
from tests.factories import auth_headers, make_book, make_user
from tests.support.orders import add_to_cart, check_out


def _place(client, headers, book):
    add_to_cart(client, headers, book)
    order_id = check_out(client, headers).get_json()["id"]
    # Unlock the cart as a finished order would, so the same shopper can order again.
    from models import Cart

    db.session.execute(update(Cart).values(status="converted"))
    db.session.commit()
    return order_id


def _set_status(order_id, status):
    db.session.execute(update(Order).where(Order.id == uuid.UUID(order_id)).values(status=status))
    db.session.commit()


def test_a_shopper_pages_through_their_own_orders_newest_first(client, app):
    headers = auth_headers(app, make_user())
    book = make_book()
    placed = [_place(client, headers, book) for _ in range(3)]
    _place(client, auth_headers(app, make_user()), book)  # someone else's

    first = client.get("/api/v1/orders?limit=2", headers=headers).get_json()
    second = client.get(
        f"/api/v1/orders?limit=2&cursor={first['next_cursor']}", headers=headers
    ).get_json()
    garbage = client.get("/api/v1/orders?cursor=!!!", headers=headers)

    assert [order["id"] for order in first["items"] + second["items"]] == placed[::-1]
    assert second["next_cursor"] is None
    assert garbage.status_code == 400 and garbage.get_json()["error"] == "invalid_cursor"


def test_another_users_order_is_not_found(client, app):
    owner = auth_headers(app, make_user())
    order_id = _place(client, owner, make_book())

    stranger = client.get(f"/api/v1/orders/{order_id}", headers=auth_headers(app, make_user()))
    staff = client.get(f"/api/v1/orders/{order_id}", headers=auth_headers(app, make_user("staff")))
    anonymous = client.get(f"/api/v1/orders/{order_id}")

    assert stranger.status_code == 404 and stranger.get_json()["error"] == "order_not_found"
    assert staff.status_code == 200
    assert anonymous.status_code == 401


def test_staff_ship_and_deliver_a_confirmed_order(client, app):
    shopper = auth_headers(app, make_user())
    staff = auth_headers(app, make_user("staff"))
    order_id = _place(client, shopper, make_book())

    too_early = client.post(
        f"/api/v1/orders/{order_id}/ship",
        json={"carrier": "UPS", "tracking_number": "1Z999"},
        headers=staff,
    )
    _set_status(order_id, "confirmed")
    by_shopper = client.post(
        f"/api/v1/orders/{order_id}/ship",
        json={"carrier": "UPS", "tracking_number": "1Z999"},
        headers=shopper,
    )
    shipped = client.post(
        f"/api/v1/orders/{order_id}/ship",
        json={"carrier": "UPS", "tracking_number": "1Z999"},
        headers=staff,
    )
    not_cancellable = client.post(f"/api/v1/orders/{order_id}/cancel", headers=shopper)
    delivered = client.post(f"/api/v1/orders/{order_id}/deliver", headers=staff)

    assert too_early.status_code == 409 and too_early.get_json()["error"] == "order_not_shippable"
    assert by_shopper.status_code == 403
    body = shipped.get_json()
    assert body["status"] == "shipped"
    assert body["shipment"]["carrier"] == "UPS" and body["shipment"]["tracking_number"] == "1Z999"
    assert not_cancellable.status_code == 409
    assert not_cancellable.get_json()["error"] == "order_shipped"
    assert delivered.get_json()["status"] == "delivered"
    assert [event["status"] for event in delivered.get_json()["shipment"]["events"]] == [
        "shipped",
        "delivered",
    ]

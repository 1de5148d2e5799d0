"""Staff inventory endpoints: listing, setting, adjusting stock and reading the ledger."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from models import Role
from services.catalog import cache as catalog_cache
from services.inventory import stock as inventory
from tests.factories import auth_headers, make_book, make_user

BASE = "/api/v1/inventory"


@pytest.fixture
def staff_headers(app, session):
    return auth_headers(app, make_user(role=Role.STAFF))


def test_only_staff_may_use_inventory(app, client):
    book = make_book()
    customer = auth_headers(app, make_user())
    assert client.get(BASE).status_code == 401
    assert client.get(BASE, headers=customer).status_code == 403
    response = client.put(f"{BASE}/{book.id}", json={"on_hand": 3}, headers=customer)
    assert response.status_code == 403
    assert response.json["error"] == "forbidden"


def test_list_pages_through_every_stock_row(client, staff_headers):
    books = {make_book(title=f"Book {i}", on_hand=10).id for i in range(5)}

    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        response = client.get(BASE, query_string=params, headers=staff_headers)
        assert response.status_code == 200
        seen += response.json["items"]
        cursor = response.json["next_cursor"]
        pages += 1
        if cursor is None:
            break

    assert pages == 3
    assert {uuid.UUID(item["book_id"]) for item in seen} == books
    first = seen[0]
    assert first["warehouse"] == "main"
    assert (first["on_hand"], first["reserved"], first["available"]) == (10, 0, 10)
    assert first["low_stock_threshold"] == 5


def test_below_threshold_lists_only_low_stock(client, session, staff_headers):
    low = make_book(title="Low", on_hand=6)
    make_book(title="Fine", on_hand=50)
    inventory.reserve(uuid.uuid4(), [(low.id, 1)], datetime.now(UTC) + timedelta(minutes=5))
    session.commit()

    response = client.get(BASE, query_string={"below_threshold": "true"}, headers=staff_headers)

    assert [item["title"] for item in response.json["items"]] == ["Low"]
    assert response.json["items"][0]["available"] == 5


def test_put_sets_stock_and_threshold_and_marks_the_stock_changed(client, staff_headers):
    book = make_book(on_hand=2)
    generation = catalog_cache.generations()[1]

    response = client.put(
        f"{BASE}/{book.id}", json={"on_hand": 40, "low_stock_threshold": 8}, headers=staff_headers
    )

    assert response.status_code == 200
    assert (response.json["on_hand"], response.json["low_stock_threshold"]) == (40, 8)
    assert catalog_cache.generations()[1] == generation + 1
    moves = client.get(f"{BASE}/{book.id}/movements", headers=staff_headers).json["items"]
    assert [(m["reason"], m["delta_on_hand"]) for m in moves] == [("set", 38), ("import", 2)]


def test_adjustment_records_reason_and_actor(app, client, session):
    staff = make_user(role=Role.STAFF)
    book = make_book(on_hand=5)

    response = client.post(
        f"{BASE}/{book.id}/adjustments",
        json={"delta": -2, "reason": "water damage"},
        headers=auth_headers(app, staff),
    )

    assert response.status_code == 201
    assert response.json["on_hand"] == 3
    latest = client.get(f"{BASE}/{book.id}/movements", headers=auth_headers(app, staff)).json[
        "items"
    ][0]
    assert (latest["reason"], latest["note"], latest["actor_id"]) == (
        "adjustment",
        "water damage",
        str(staff.id),
    )


def test_movements_are_newest_first_and_cursor_paged(client, session, staff_headers):
    book = make_book(on_hand=1)
    for delta in (1, 2, 3):
        inventory.adjust(book.id, delta, f"delivery {delta}")
    session.commit()

    first = client.get(
        f"{BASE}/{book.id}/movements", query_string={"limit": 3}, headers=staff_headers
    ).json
    second = client.get(
        f"{BASE}/{book.id}/movements",
        query_string={"limit": 3, "cursor": first["next_cursor"]},
        headers=staff_headers,
    ).json

    assert [m["delta_on_hand"] for m in first["items"]] == [3, 2, 1]
    assert [m["delta_on_hand"] for m in second["items"]] == [1]
    assert second["next_cursor"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "delta"),
        ({"delta": 0, "reason": "x"}, "delta"),
        ({"delta": "many", "reason": "x"}, "delta"),
        ({"delta": 1}, "reason"),
        ({"delta": 1, "reason": ""}, "reason"),
        ({"delta": 1, "reason": "x", "extra": True}, "extra"),
    ],
)
def test_bad_adjustments_are_422(client, staff_headers, body, field):
    book = make_book()
    response = client.post(f"{BASE}/{book.id}/adjustments", json=body, headers=staff_headers)
    assert response.status_code == 422
    assert response.json["error"] == "validation_error"
    assert field in str(response.json["errors"])


def test_bad_puts_are_422(client, staff_headers):
    book = make_book()
    for body in ({}, {"on_hand": -1}, {"on_hand": 1, "low_stock_threshold": -2}):
        response = client.put(f"{BASE}/{book.id}", json=body, headers=staff_headers)
        assert response.status_code == 422, body
        assert response.json["error"] == "validation_error"


def test_going_below_reserved_is_409(client, session, staff_headers):
    book = make_book(on_hand=5)
    inventory.reserve(uuid.uuid4(), [(book.id, 4)], None)
    session.commit()

    adjusted = client.post(
        f"{BASE}/{book.id}/adjustments", json={"delta": -2, "reason": "lost"}, headers=staff_headers
    )
    put = client.put(f"{BASE}/{book.id}", json={"on_hand": 3}, headers=staff_headers)

    assert (adjusted.status_code, adjusted.json["error"]) == (409, "invalid_adjustment")
    assert (put.status_code, put.json["error"]) == (409, "invalid_adjustment")
    assert client.get(BASE, headers=staff_headers).json["items"][0]["on_hand"] == 5


def test_unknown_book_warehouse_and_bad_cursor(client, staff_headers):
    book = make_book()
    unknown = uuid.uuid4()
    assert (
        client.put(f"{BASE}/{unknown}", json={"on_hand": 1}, headers=staff_headers).json["error"]
        == "not_found"
    )
    response = client.post(
        f"{BASE}/{book.id}/adjustments",
        json={"delta": 1, "reason": "x", "warehouse": "atlantis"},
        headers=staff_headers,
    )
    assert (response.status_code, response.json["error"]) == (404, "not_found")
    assert client.get(f"{BASE}/{unknown}/movements", headers=staff_headers).status_code == 404
    for cursor in ("garbage", "W10", "eyJ4IjoxfQ"):
        response = client.get(BASE, query_string={"cursor": cursor}, headers=staff_headers)
        assert (response.status_code, response.json["error"]) == (400, "invalid_cursor")
    assert client.get(f"{BASE}/not-a-uuid", headers=staff_headers).status_code == 404

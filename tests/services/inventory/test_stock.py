"""Stock reservations, sales, returns and staff changes keep stock and ledger in step."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from models import (
    Book,
    Stock,
    StockMovement,
    StockReservation,
    Warehouse,
)
from services.errors import InvalidInput, NotFound
from services.inventory import stock as inventory
from tests.factories import make_book
from tests.support.ledger import ledger_drift

LATER = datetime.now(UTC) + timedelta(minutes=15)


def default_warehouse(session) -> Warehouse:
    return session.scalars(select(Warehouse).where(Warehouse.is_default)).one()


def stock_of(session, book, warehouse=None) -> Stock:
    warehouse = warehouse or default_warehouse(session)
    stock = session.get(Stock, (book.id, warehouse.id), populate_existing=True)
    assert stock is not None
    return stock


def movements(session, book) -> list[StockMovement]:
    return session.scalars(
        select(StockMovement).where(StockMovement.book_id == book.id).order_by(StockMovement.id)
    ).all()


def add_warehouse(session, code: str, book=None, on_hand: int = 0) -> Warehouse:
    warehouse = Warehouse(code=code, name=f"Warehouse {code}")
    session.add(warehouse)
    session.flush()
    if book is not None:
        inventory.set_stock(book.id, on_hand, warehouse_code=code)
    session.commit()
    return warehouse


def assert_ledger_reconciles(session) -> None:
    session.flush()
    assert ledger_drift(session.connection()) == []


# --- reserve -------------------------------------------------------------------------------


def test_reserve_holds_stock_in_the_default_warehouse_and_writes_the_ledger(session):
    book = make_book(on_hand=5)
    order_id = uuid.uuid4()

    reservations = inventory.reserve(order_id, [(book.id, 2)], LATER)
    session.commit()

    assert [(r.book_id, r.quantity, r.status) for r in reservations] == [(book.id, 2, "held")]
    assert reservations[0].warehouse_id == default_warehouse(session).id
    stock = stock_of(session, book)
    assert (stock.on_hand, stock.reserved, stock.available) == (5, 2, 3)
    last = movements(session, book)[-1]
    assert (last.reason, last.delta_reserved, last.delta_on_hand, last.reference) == (
        "reserve",
        2,
        0,
        str(order_id),
    )
    assert_ledger_reconciles(session)


def test_reserve_falls_back_to_other_warehouses_by_code(session):
    book = make_book(on_hand=1)
    add_warehouse(session, "zeta", book, on_hand=9)
    alpha = add_warehouse(session, "alpha", book, on_hand=4)

    reservations = inventory.reserve(uuid.uuid4(), [(book.id, 3)], LATER)

    assert reservations[0].warehouse_id == alpha.id
    assert stock_of(session, book, alpha).reserved == 3
    assert_ledger_reconciles(session)


def test_reserve_is_all_or_nothing(session):
    plenty = make_book(on_hand=10)
    scarce = make_book(on_hand=1)
    before = len(movements(session, plenty)) + len(movements(session, scarce))

    with pytest.raises(inventory.InsufficientStock) as raised:
        inventory.reserve(uuid.uuid4(), [(plenty.id, 3), (scarce.id, 2)], LATER)
    session.rollback()

    assert raised.value.error == "insufficient_stock"
    assert raised.value.items == [{"book_id": str(scarce.id), "requested": 2, "available": 1}]
    assert stock_of(session, plenty).reserved == 0
    assert stock_of(session, scarce).reserved == 0
    assert session.scalar(select(func.count()).select_from(StockReservation)) == 0
    assert len(movements(session, plenty)) + len(movements(session, scarce)) == before


def test_reserve_reports_books_without_any_stock_row(session):
    book = Book(title="Never stocked", price_cents=100)
    session.add(book)
    session.commit()

    with pytest.raises(inventory.InsufficientStock) as raised:
        inventory.reserve(uuid.uuid4(), [(book.id, 1)], LATER)

    assert raised.value.items == [{"book_id": str(book.id), "requested": 1, "available": 0}]


def test_reserve_merges_repeated_lines_and_rejects_bad_quantities(session):
    book = make_book(on_hand=3)

    reservations = inventory.reserve(uuid.uuid4(), [(book.id, 1), (book.id, 2)], LATER)

    assert [r.quantity for r in reservations] == [3]
    with pytest.raises(InvalidInput):
        inventory.reserve(uuid.uuid4(), [(book.id, 0)], LATER)
    with pytest.raises(InvalidInput):
        inventory.reserve(uuid.uuid4(), [], LATER)


def test_reserve_twice_for_the_same_order_reserves_once(session):
    book = make_book(on_hand=5)
    order_id = uuid.uuid4()
    first = inventory.reserve(order_id, [(book.id, 2)], LATER)
    session.commit()

    second = inventory.reserve(order_id, [(book.id, 2)], LATER)
    session.commit()

    assert [r.id for r in second] == [r.id for r in first]
    assert stock_of(session, book).reserved == 2
    assert_ledger_reconciles(session)


# --- release, commit, restock --------------------------------------------------------------


def test_release_gives_the_stock_back_once(session):
    book = make_book(on_hand=5)
    order_id = uuid.uuid4()
    inventory.reserve(order_id, [(book.id, 2)], LATER)
    session.commit()

    released = inventory.release(order_id)
    again = inventory.release(order_id)
    session.commit()

    assert [r.status for r in released] == ["released"]
    assert again == []
    assert stock_of(session, book).reserved == 0
    assert [m.reason for m in movements(session, book)] == ["import", "reserve", "release"]
    assert inventory.release(uuid.uuid4()) == []
    assert_ledger_reconciles(session)


def test_commit_sells_the_held_stock_once(session):
    book = make_book(on_hand=5)
    other = make_book(on_hand=5)
    order_id = uuid.uuid4()
    inventory.reserve(order_id, [(book.id, 2), (other.id, 1)], LATER)
    session.commit()

    committed = inventory.commit(order_id)
    again = inventory.commit(order_id)
    session.commit()

    assert sorted(r.quantity for r in committed) == [1, 2]
    assert {r.status for r in committed} == {"committed"}
    assert [r.id for r in again] == [r.id for r in committed]
    stock = stock_of(session, book)
    assert (stock.on_hand, stock.reserved) == (3, 0)
    assert session.get(Book, book.id, populate_existing=True).sales_count == 2
    assert session.get(Book, other.id, populate_existing=True).sales_count == 1
    sale = movements(session, book)[-1]
    assert (sale.reason, sale.delta_on_hand, sale.delta_reserved) == ("sale", -2, -2)
    assert_ledger_reconciles(session)


def test_commit_of_released_or_unknown_order_is_refused(session):
    book = make_book(on_hand=5)
    order_id = uuid.uuid4()
    inventory.reserve(order_id, [(book.id, 1)], LATER)
    inventory.release(order_id)

    with pytest.raises(inventory.ReservationNotHeld):
        inventory.commit(order_id)
    with pytest.raises(inventory.ReservationNotHeld):
        inventory.commit(uuid.uuid4())


def test_restock_puts_sold_copies_back_once(session):
    book = make_book(on_hand=5)
    order_id = uuid.uuid4()
    inventory.reserve(order_id, [(book.id, 2)], LATER)
    inventory.commit(order_id)
    session.commit()

    returned = inventory.restock(order_id)
    again = inventory.restock(order_id)
    session.commit()

    assert [r.status for r in returned] == ["returned"]
    assert again == []
    stock = stock_of(session, book)
    assert (stock.on_hand, stock.reserved) == (5, 0)
    assert session.get(Book, book.id, populate_existing=True).sales_count == 0
    assert movements(session, book)[-1].reason == "return"
    # A held (never sold) order has nothing to restock.
    held = uuid.uuid4()
    inventory.reserve(held, [(book.id, 1)], LATER)
    assert inventory.restock(held) == []
    assert_ledger_reconciles(session)


def test_expire_reservations_releases_only_past_their_deadline(session):
    book = make_book(on_hand=5)
    now = datetime.now(UTC)
    stale, fresh, sold = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    inventory.reserve(stale, [(book.id, 1)], now - timedelta(seconds=1))
    inventory.reserve(fresh, [(book.id, 1)], now + timedelta(minutes=5))
    inventory.reserve(sold, [(book.id, 1)], now - timedelta(minutes=1))
    inventory.commit(sold)
    session.commit()

    expired = inventory.expire_reservations(now)
    again = inventory.expire_reservations(now)
    session.commit()

    assert expired == [stale]
    assert again == []
    assert stock_of(session, book).reserved == 1
    assert movements(session, book)[-1].reason == "expire"
    assert_ledger_reconciles(session)


# --- staff changes -------------------------------------------------------------------------


def test_adjust_changes_on_hand_with_a_ledger_note(session):
    book = make_book(on_hand=5)
    staff_id = uuid.uuid4()

    stock = inventory.adjust(book.id, 3, "delivery from publisher", actor_id=staff_id)
    inventory.adjust(book.id, -2, "damaged")
    session.commit()

    assert stock_of(session, book).on_hand == 6
    assert stock is stock_of(session, book)
    delivery, damaged = movements(session, book)[-2:]
    assert (delivery.reason, delivery.delta_on_hand, delivery.note, delivery.actor_id) == (
        "adjustment",
        3,
        "delivery from publisher",
        staff_id,
    )
    assert (damaged.delta_on_hand, damaged.note) == (-2, "damaged")
    assert_ledger_reconciles(session)


def test_adjust_never_goes_below_zero_or_below_reserved(session):
    book = make_book(on_hand=5)
    inventory.reserve(uuid.uuid4(), [(book.id, 3)], LATER)
    session.commit()

    with pytest.raises(inventory.InvalidAdjustment) as raised:
        inventory.adjust(book.id, -3, "lost")
    with pytest.raises(inventory.InvalidAdjustment):
        inventory.adjust(book.id, -6, "lost")
    with pytest.raises(InvalidInput):
        inventory.adjust(book.id, 0, "nothing")

    assert raised.value.error == "invalid_adjustment"
    inventory.adjust(book.id, -2, "lost")
    assert stock_of(session, book).on_hand == 3
    assert_ledger_reconciles(session)


def test_adjust_unknown_book_or_warehouse_is_not_found(session):
    book = make_book()
    with pytest.raises(NotFound):
        inventory.adjust(uuid.uuid4(), 1, "x")
    with pytest.raises(NotFound):
        inventory.adjust(book.id, 1, "x", warehouse_code="nowhere")


def test_adjust_in_a_new_warehouse_creates_its_stock_row(session):
    book = make_book(on_hand=1)
    north = add_warehouse(session, "north")

    inventory.adjust(book.id, 4, "first delivery", warehouse_code="north")
    session.commit()

    assert stock_of(session, book, north).on_hand == 4
    assert inventory.availability([book.id]) == {book.id: 5}
    assert_ledger_reconciles(session)


def test_set_stock_writes_the_difference_and_the_threshold(session):
    book = make_book(on_hand=5)

    inventory.set_stock(book.id, 12, low_stock_threshold=3)
    inventory.set_stock(book.id, 12, low_stock_threshold=4)  # no stock change, no ledger row
    session.commit()

    stock = stock_of(session, book)
    assert (stock.on_hand, stock.low_stock_threshold) == (12, 4)
    assert [(m.reason, m.delta_on_hand) for m in movements(session, book)] == [
        ("import", 5),
        ("set", 7),
    ]
    inventory.reserve(uuid.uuid4(), [(book.id, 10)], LATER)
    with pytest.raises(inventory.InvalidAdjustment):
        inventory.set_stock(book.id, 9)
    with pytest.raises(InvalidInput):
        inventory.set_stock(book.id, -1)
    assert_ledger_reconciles(session)


def test_stock_rising_above_the_threshold_clears_the_low_stock_mark(session):
    book = make_book(on_hand=2)
    stock = stock_of(session, book)
    stock.low_stock_alerted_at = datetime.now(UTC)
    session.commit()

    inventory.adjust(book.id, 2, "small delivery")  # 4, still at or under threshold 5
    assert stock_of(session, book).low_stock_alerted_at is not None
    inventory.adjust(book.id, 2, "delivery")  # 6, above the threshold
    assert stock_of(session, book).low_stock_alerted_at is None


def test_availability_sums_warehouses_and_defaults_to_zero(session):
    book = make_book(on_hand=4)
    add_warehouse(session, "east", book, on_hand=3)
    inventory.reserve(uuid.uuid4(), [(book.id, 2)], LATER)
    missing = uuid.uuid4()

    assert inventory.availability([book.id, missing]) == {book.id: 5, missing: 0}
    assert inventory.availability([]) == {}


def test_a_mixed_history_keeps_the_ledger_invariant(session):
    books = [make_book(on_hand=6) for _ in range(3)]
    orders = [uuid.uuid4() for _ in range(4)]
    inventory.reserve(orders[0], [(books[0].id, 2), (books[1].id, 1)], LATER)
    inventory.reserve(orders[1], [(books[1].id, 2), (books[2].id, 3)], LATER)
    inventory.reserve(orders[2], [(books[2].id, 1)], LATER)
    inventory.reserve(orders[3], [(books[0].id, 1)], LATER)
    inventory.commit(orders[0])
    inventory.release(orders[1])
    inventory.commit(orders[2])
    inventory.restock(orders[2])
    inventory.adjust(books[1].id, -1, "damaged")
    inventory.set_stock(books[2].id, 8)
    session.commit()

    assert_ledger_reconciles(session)
    assert inventory.availability([b.id for b in books]) == {
        books[0].id: 3,
        books[1].id: 4,
        books[2].id: 8,
    }

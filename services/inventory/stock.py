"""Stock management: reservations for orders, sales, returns and staff adjustments.

Every function works in the caller's session (``models.db.session``) and does NOT commit:
the caller commits (or rolls back on an error). Every function is idempotent for its
order, and every change of ``on_hand`` or ``reserved`` writes one ledger row
(``StockMovement``), so that for each stock row::

    sum(delta_on_hand) == on_hand
    sum(delta_reserved) == reserved == sum(quantity of its held reservations)

Stock rows are always locked (SELECT ... FOR UPDATE) in (book_id, warehouse_id) order, so
concurrent orders wait for each other instead of deadlocking or overselling.

After committing a change that affects availability, call
``services.catalog_cache.stock_changed()``.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import bindparam, delete, func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert

from models import (
    Book,
    ReservationStatus,
    Stock,
    StockMovement,
    StockReservation,
    Warehouse,
    db,
)
from services.errors import Conflict, InvalidInput, NotFound
from services.search import freshness as search_freshness


class InsufficientStock(Conflict):
    """Not enough stock for every line of the order; nothing was reserved."""

    error = "insufficient_stock"

    def __init__(self, items: list[dict]) -> None:
        # items: [{"book_id": str, "requested": int, "available": int}]
        super().__init__(None, items=items)
        self.items = items


class InvalidAdjustment(Conflict):
    """The change would take stock below zero or below what is reserved for orders."""

    error = "invalid_adjustment"


class ReservationNotHeld(Conflict):
    """The order holds no stock to commit (never reserved, or released meanwhile)."""

    error = "reservation_not_held"


# --- locking -------------------------------------------------------------------------------


def _lock_stock_for_books(book_ids: Iterable[uuid.UUID]) -> list[tuple[Stock, Warehouse]]:
    """Lock every stock row of these books, in (book_id, warehouse_id) order."""
    rows = db.session.execute(
        select(Stock, Warehouse)
        .join(Warehouse, Warehouse.id == Stock.warehouse_id)
        .where(Stock.book_id.in_(sorted(set(book_ids))))
        .order_by(Stock.book_id, Stock.warehouse_id)
        .with_for_update(of=Stock)
        .execution_options(populate_existing=True)
    ).all()
    return [(row.Stock, row.Warehouse) for row in rows]


def lock_stock_rows(keys: Iterable[tuple[uuid.UUID, uuid.UUID]]) -> dict[tuple, Stock]:
    """Lock the stock rows with these (book_id, warehouse_id) keys, in key order (the one
    order every writer of stock uses, so that no two transactions deadlock)."""
    keys = sorted(set(keys))
    if not keys:
        return {}
    stocks = db.session.scalars(
        select(Stock)
        .where(tuple_(Stock.book_id, Stock.warehouse_id).in_(keys))
        .order_by(Stock.book_id, Stock.warehouse_id)
        .with_for_update(of=Stock)
        .execution_options(populate_existing=True)
    ).all()
    return {(stock.book_id, stock.warehouse_id): stock for stock in stocks}


def _reservations(order_ids: Sequence[uuid.UUID], status: str | None = None):
    query = select(StockReservation).where(StockReservation.order_id.in_(order_ids))
    if status is not None:
        query = query.where(StockReservation.status == status)
    return db.session.scalars(
        query.order_by(StockReservation.book_id, StockReservation.warehouse_id).execution_options(
            populate_existing=True
        )
    ).all()


def _record(stock: Stock, reason: str, *, on_hand: int = 0, reserved: int = 0, **fields) -> None:
    was_available = stock.available > 0
    stock.on_hand += on_hand
    stock.reserved += reserved
    if (stock.available > 0) != was_available:
        # Search filters and shows in/out of stock: the book's document must follow. Whoever
        # commits sends the message (``tasks.chains.send_recorded``), else the outbox relay.
        search_freshness.book_changed([stock.book_id], "stock")
    db.session.add(
        StockMovement(
            book_id=stock.book_id,
            warehouse_id=stock.warehouse_id,
            delta_on_hand=on_hand,
            delta_reserved=reserved,
            reason=reason,
            **fields,
        )
    )


def _clear_alert_if_recovered(stock: Stock) -> None:
    """A new low-stock alert may go out once stock rose above the threshold again."""
    if stock.low_stock_alerted_at is not None and stock.available > stock.low_stock_threshold:
        stock.low_stock_alerted_at = None


# --- orders --------------------------------------------------------------------------------


def reserve(
    order_id: uuid.UUID,
    lines: Sequence[tuple[uuid.UUID, int]],
    expires_at: datetime | None,
) -> list[StockReservation]:
    """Hold stock for every line of the order, or for none of them.

    Each line is served from one warehouse: the first by (default first, then code) with
    enough available. Raises ``InsufficientStock`` (nothing changed) when a line cannot be
    served. If the order already has reservations (in any state), they are returned as they
    are: calling again never reserves twice. Does not commit.
    """
    wanted: dict[uuid.UUID, int] = defaultdict(int)
    for book_id, quantity in lines:
        if quantity <= 0:
            raise InvalidInput("Quantities must be positive.")
        wanted[book_id] += quantity
    if not wanted:
        raise InvalidInput("An order needs at least one line.")

    # Lock first, then look for earlier reservations: a concurrent call for the same order
    # waits here and then sees what the first one committed.
    locked = _lock_stock_for_books(wanted)
    existing = _reservations([order_id])
    if existing:
        return list(existing)

    candidates: dict[uuid.UUID, list[tuple[Stock, Warehouse]]] = defaultdict(list)
    for stock, warehouse in locked:
        candidates[stock.book_id].append((stock, warehouse))
    chosen: list[tuple[Stock, int]] = []
    shortages: list[dict] = []
    for book_id in sorted(wanted):
        quantity = wanted[book_id]
        options = sorted(candidates[book_id], key=lambda sw: (not sw[1].is_default, sw[1].code))
        stock = next((s for s, _ in options if s.available >= quantity), None)
        if stock is None:
            best = max((s.available for s, _ in options), default=0)
            shortages.append(
                {"book_id": str(book_id), "requested": quantity, "available": max(best, 0)}
            )
        else:
            chosen.append((stock, quantity))
    if shortages:
        raise InsufficientStock(shortages)

    reservations = []
    for stock, quantity in chosen:
        _record(stock, "reserve", reserved=quantity, reference=str(order_id))
        reservation = StockReservation(
            order_id=order_id,
            book_id=stock.book_id,
            warehouse_id=stock.warehouse_id,
            quantity=quantity,
            status=ReservationStatus.HELD,
            expires_at=expires_at,
        )
        db.session.add(reservation)
        reservations.append(reservation)
    db.session.flush()
    return reservations


def _transition(
    order_ids: Sequence[uuid.UUID], from_status: str
) -> list[tuple[StockReservation, Stock]]:
    """Lock the stock rows behind these orders' reservations in ``from_status`` (in key
    order), then re-read and lock those reservations; returns them with their stock rows."""
    candidates = _reservations(order_ids, from_status)
    stocks = lock_stock_rows((r.book_id, r.warehouse_id) for r in candidates)
    # Re-read after the locks: a concurrent call may have moved them on meanwhile.
    current = db.session.scalars(
        select(StockReservation)
        .where(
            StockReservation.order_id.in_(order_ids),
            StockReservation.status == from_status,
        )
        .order_by(StockReservation.book_id, StockReservation.warehouse_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    return [(r, stocks[(r.book_id, r.warehouse_id)]) for r in current]


def forget_released(order_id: uuid.UUID) -> int:
    """Drop an order's released reservations so that ``reserve`` holds its stock anew (an
    order paid again after a failed payment). The ledger keeps their movements; released
    rows hold nothing, so the stock counts do not change. Does not commit."""
    return db.session.execute(
        delete(StockReservation).where(
            StockReservation.order_id == order_id,
            StockReservation.status == ReservationStatus.RELEASED,
        )
    ).rowcount


def release(order_id: uuid.UUID, reason: str = "release") -> list[StockReservation]:
    """Give back the stock the order holds (held -> released). Returns the reservations
    released by this call; none when nothing is held. Does not commit."""
    released = []
    for reservation, stock in _transition([order_id], ReservationStatus.HELD):
        _record(stock, reason, reserved=-reservation.quantity, reference=str(order_id))
        reservation.status = ReservationStatus.RELEASED
        released.append(reservation)
    db.session.flush()
    return released


def commit(order_id: uuid.UUID) -> list[StockReservation]:
    """Turn the held stock into a sale (held -> committed): on hand and reserved both drop,
    and the books' sales counts rise. Returns all of the order's committed reservations;
    a second call changes nothing. Raises ``ReservationNotHeld`` when the order has neither
    held nor committed stock (e.g. it was released meanwhile). Does not commit."""
    sold: dict[uuid.UUID, int] = defaultdict(int)
    committed = []
    for reservation, stock in _transition([order_id], ReservationStatus.HELD):
        quantity = reservation.quantity
        _record(stock, "sale", on_hand=-quantity, reserved=-quantity, reference=str(order_id))
        reservation.status = ReservationStatus.COMMITTED
        sold[reservation.book_id] += quantity
        committed.append(reservation)
    # Flushed together (batched per statement), then one executemany for the sales counts.
    db.session.flush()
    if sold:
        db.session.connection().execute(
            update(Book.__table__)
            .where(Book.id == bindparam("sold_book_id"))
            .values(sales_count=Book.sales_count + bindparam("sold_quantity")),
            [{"sold_book_id": book, "sold_quantity": n} for book, n in sorted(sold.items())],
        )
    if not committed:
        # Nothing was held: a repeated call returns what an earlier one committed.
        committed = _reservations([order_id], ReservationStatus.COMMITTED)
    if not committed:
        raise ReservationNotHeld()
    return list(committed)


def restock(order_id: uuid.UUID) -> list[StockReservation]:
    """Put sold stock back on the shelf (committed -> returned), for an order cancelled
    before shipping. Returns the reservations returned by this call. Does not commit."""
    returned = []
    for reservation, stock in _transition([order_id], ReservationStatus.COMMITTED):
        quantity = reservation.quantity
        _record(stock, "return", on_hand=quantity, reference=str(order_id))
        _clear_alert_if_recovered(stock)
        reservation.status = ReservationStatus.RETURNED
        db.session.execute(
            update(Book)
            .where(Book.id == reservation.book_id)
            .values(sales_count=func.greatest(Book.sales_count - quantity, 0))
        )
        returned.append(reservation)
    db.session.flush()
    return returned


def expire_reservations(now: datetime) -> list[uuid.UUID]:
    """Release every held reservation whose ``expires_at`` has passed; returns the ids of
    the orders affected (their owner marks them expired). Does not commit."""
    order_ids = sorted(
        set(
            db.session.scalars(
                select(StockReservation.order_id).where(
                    StockReservation.status == ReservationStatus.HELD,
                    StockReservation.expires_at <= now,
                )
            )
        )
    )
    if not order_ids:
        return []
    expired = set()
    # One sorted lock over all orders' rows, so this never deadlocks with a reservation.
    for reservation, stock in _transition(order_ids, ReservationStatus.HELD):
        if reservation.expires_at is None or reservation.expires_at > now:
            continue
        _record(
            stock, "expire", reserved=-reservation.quantity, reference=str(reservation.order_id)
        )
        reservation.status = ReservationStatus.RELEASED
        expired.add(reservation.order_id)
    db.session.flush()
    return sorted(expired)


# --- staff ---------------------------------------------------------------------------------


def _warehouse(code: str | None) -> Warehouse:
    query = select(Warehouse)
    query = query.where(Warehouse.code == code) if code else query.where(Warehouse.is_default)
    warehouse = db.session.scalars(query).one_or_none()
    if warehouse is None:
        raise NotFound(f"No warehouse {code!r}." if code else "No default warehouse.")
    return warehouse


def _lock_stock_row(book_id: uuid.UUID, warehouse_code: str | None) -> Stock:
    """Lock (creating it empty if needed) the stock row of a book in a warehouse."""
    if db.session.get(Book, book_id) is None:
        raise NotFound("No such book.", book_id=str(book_id))
    warehouse = _warehouse(warehouse_code)
    db.session.execute(
        insert(Stock)
        .values(book_id=book_id, warehouse_id=warehouse.id, on_hand=0, reserved=0)
        .on_conflict_do_nothing(index_elements=["book_id", "warehouse_id"])
    )
    return db.session.scalars(
        select(Stock)
        .where(Stock.book_id == book_id, Stock.warehouse_id == warehouse.id)
        .with_for_update(of=Stock)
        .execution_options(populate_existing=True)
    ).one()


def adjust(
    book_id: uuid.UUID,
    delta: int,
    reason: str,
    actor_id: uuid.UUID | None = None,
    warehouse_code: str | None = None,
) -> Stock:
    """Add (or remove) ``delta`` copies on hand, e.g. a delivery or damaged copies; the
    ledger row carries ``reason`` as its note. Raises ``InvalidAdjustment`` if on hand would
    drop below zero or below the reserved copies. Does not commit."""
    if delta == 0:
        raise InvalidInput("The delta must not be zero.")
    stock = _lock_stock_row(book_id, warehouse_code)
    if stock.on_hand + delta < max(stock.reserved, 0):
        raise InvalidAdjustment(
            f"On hand would be {stock.on_hand + delta}, but {stock.reserved} are reserved.",
            on_hand=stock.on_hand,
            reserved=stock.reserved,
        )
    _record(stock, "adjustment", on_hand=delta, note=reason, actor_id=actor_id)
    _clear_alert_if_recovered(stock)
    db.session.flush()
    return stock


def set_stock(
    book_id: uuid.UUID,
    on_hand: int,
    low_stock_threshold: int | None = None,
    warehouse_code: str | None = None,
    actor_id: uuid.UUID | None = None,
) -> Stock:
    """Set the copies on hand (the difference goes to the ledger) and optionally the
    low-stock threshold. Raises ``InvalidAdjustment`` below the reserved copies. Does not
    commit."""
    if on_hand < 0 or (low_stock_threshold is not None and low_stock_threshold < 0):
        raise InvalidInput("Stock and threshold must not be negative.")
    stock = _lock_stock_row(book_id, warehouse_code)
    if on_hand < stock.reserved:
        raise InvalidAdjustment(
            f"{stock.reserved} copies are reserved for orders; on hand cannot be {on_hand}.",
            on_hand=stock.on_hand,
            reserved=stock.reserved,
        )
    if on_hand != stock.on_hand:
        _record(stock, "set", on_hand=on_hand - stock.on_hand, actor_id=actor_id)
    if low_stock_threshold is not None:
        stock.low_stock_threshold = low_stock_threshold
    _clear_alert_if_recovered(stock)
    db.session.flush()
    return stock


def availability(book_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Copies that can still be ordered per book, over all warehouses (0 without stock)."""
    book_ids = list(book_ids)
    result = dict.fromkeys(book_ids, 0)
    if not book_ids:
        return result
    rows = db.session.execute(
        select(Stock.book_id, func.sum(Stock.on_hand - Stock.reserved))
        .where(Stock.book_id.in_(book_ids))
        .group_by(Stock.book_id)
    ).all()
    for book_id, available in rows:
        result[book_id] = max(int(available), 0)
    return result

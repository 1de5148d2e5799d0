"""Many orders racing for the last copies: no oversell, no deadlock, the ledger reconciles."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from models import Stock, StockReservation, db
from services.inventory import stock as inventory
from tests.factories import make_book
from tests.support.ledger import ledger_drift

THREADS = 60
LAST_COPIES = 7


def test_concurrent_orders_never_oversell_nor_deadlock(committed, engine):
    # Given 7 copies of a scarce book and plenty of another one
    scarce = make_book(title="Scarce", on_hand=LAST_COPIES)
    plenty = make_book(title="Plenty", on_hand=1000)
    committed.remove()
    # and 60 orders that each want one scarce copy; a third of them also want the other
    # book, listing the two in opposite orders so that unordered locking would deadlock
    orders: list[tuple[uuid.UUID, list[tuple[uuid.UUID, int]]]] = []
    for i in range(THREADS):
        if i % 3 == 0:
            lines = [(scarce.id, 1)]
        elif i % 3 == 1:
            lines = [(scarce.id, 1), (plenty.id, 2)]
        else:
            lines = [(plenty.id, 1), (scarce.id, 1)]
        orders.append((uuid.uuid4(), lines))
    expires_at = datetime.now(UTC) + timedelta(minutes=15)
    start = threading.Barrier(THREADS)
    outcomes: dict[uuid.UUID, str] = {}
    unexpected: list[BaseException] = []

    def place(order_id: uuid.UUID, lines) -> None:
        start.wait()
        try:
            inventory.reserve(order_id, lines, expires_at)
            db.session.commit()
            outcomes[order_id] = "reserved"
        except inventory.InsufficientStock:
            db.session.rollback()
            outcomes[order_id] = "insufficient"
        except BaseException as exc:
            unexpected.append(exc)
        finally:
            db.session.remove()

    # When they all reserve at once, each in its own thread, session and connection
    threads = [threading.Thread(target=place, args=order) for order in orders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)

    # Then only InsufficientStock was raised, and exactly the last copies were reserved
    assert unexpected == []
    assert len(outcomes) == THREADS
    winners = {order_id for order_id, outcome in outcomes.items() if outcome == "reserved"}
    assert len(winners) == LAST_COPIES
    with engine.connect() as conn:
        stock = {
            row.book_id: row
            for row in conn.execute(select(Stock.book_id, Stock.on_hand, Stock.reserved))
        }
        held = conn.execute(
            select(StockReservation.order_id, StockReservation.book_id, StockReservation.quantity)
        ).all()
        drift = ledger_drift(conn)
    assert (stock[scarce.id].on_hand, stock[scarce.id].reserved) == (LAST_COPIES, LAST_COPIES)
    wanted_plenty = sum(
        q for order_id, lines in orders if order_id in winners for b, q in lines if b == plenty.id
    )
    assert stock[plenty.id].reserved == wanted_plenty
    assert {row.order_id for row in held} == winners
    # and the ledger agrees with the stock and the held reservations
    assert drift == []

"""Reconciliation finds drift injected behind the ledger's back, repairs it, and reports it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from models import db
from services.inventory import reconciliation as stock_reconciliation
from services.inventory import stock as inventory
from tests.factories import make_book
from tests.support.ledger import ledger_drift

LATER = datetime.now(UTC) + timedelta(minutes=15)


def stock_row(engine, book) -> tuple[int, int]:
    with engine.connect() as conn:
        return tuple(
            conn.execute(
                text("SELECT on_hand, reserved FROM stock WHERE book_id = :id"), {"id": book.id}
            ).one()
        )


def test_injected_drift_is_found_repaired_and_reported(committed, engine):
    # Given stock with live reservations, and drift injected directly in SQL
    reserved_drift = make_book(title="Reserved drift", on_hand=10)
    on_hand_drift = make_book(title="On-hand drift", on_hand=10)
    lost_movement = make_book(title="Lost movement", on_hand=10)
    healthy = make_book(title="Healthy", on_hand=10)
    inventory.reserve(uuid.uuid4(), [(reserved_drift.id, 2), (healthy.id, 1)], LATER)
    inventory.reserve(uuid.uuid4(), [(lost_movement.id, 4)], LATER)
    db.session.commit()
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE stock SET reserved = reserved + 3 WHERE book_id = :id"),
            {"id": reserved_drift.id},
        )
        conn.execute(
            text("UPDATE stock SET on_hand = on_hand - 4 WHERE book_id = :id"),
            {"id": on_hand_drift.id},
        )
        conn.execute(
            text("DELETE FROM stock_movements WHERE book_id = :id AND reason = 'reserve'"),
            {"id": lost_movement.id},
        )
        assert len(ledger_drift(conn)) == 3

    # When the reconciliation runs (in batches smaller than the catalog)
    report = stock_reconciliation.reconcile_stock(batch_size=3)

    # Then every drifted row is found and repaired, and the report says so
    assert (report.rows_checked, report.drift_found) == (4, 3)
    assert report.finished_at is not None
    found = {(r["book_id"], r["field"]): (r["found"], r["expected"]) for r in report.repairs}
    assert found == {
        (str(reserved_drift.id), "reserved"): (5, 2),
        (str(on_hand_drift.id), "on_hand"): (6, 10),
        (str(lost_movement.id), "ledger_reserved"): (0, 4),
    }
    assert all(r["repaired"] for r in report.repairs)
    assert stock_row(engine, reserved_drift) == (10, 2)
    assert stock_row(engine, on_hand_drift) == (10, 0)
    assert stock_row(engine, lost_movement) == (10, 4)
    with engine.connect() as conn:
        assert ledger_drift(conn) == []
        notes = conn.execute(
            text("SELECT book_id, delta_reserved FROM stock_movements WHERE reason = 'reconcile'")
        ).all()
    assert sorted((row.book_id, row.delta_reserved) for row in notes) == sorted(
        [(reserved_drift.id, 0), (on_hand_drift.id, 0), (lost_movement.id, 4)]
    )

    # And a second run finds nothing more
    again = stock_reconciliation.reconcile_stock()
    assert (again.rows_checked, again.drift_found, again.repairs) == (4, 0, [])
    assert [r.id for r in stock_reconciliation.reports(limit=5).items] == [again.id, report.id]


def test_drift_that_cannot_be_repaired_is_reported_and_left_alone(committed, engine):
    # Given held reservations exceeding what the ledger says is on hand
    book = make_book(on_hand=3)
    inventory.reserve(uuid.uuid4(), [(book.id, 3)], LATER)
    db.session.commit()
    with engine.begin() as conn:
        conn.execute(
            text("DELETE FROM stock_movements WHERE book_id = :id AND reason = 'import'"),
            {"id": book.id},
        )

    report = stock_reconciliation.reconcile_stock()

    assert report.drift_found == 1
    assert [(r["field"], r["repaired"]) for r in report.repairs] == [("on_hand", False)]
    assert stock_row(engine, book) == (3, 3)

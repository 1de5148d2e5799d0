"""Nightly stock reconciliation: recompute every stock row from the ledger and the live
reservations, repair drift, and keep a report.

Truth: ``reserved`` is the sum of the row's held reservations; ``on_hand`` is the sum of the
ledger's ``delta_on_hand``. A stock row that disagrees is set to the truth (the ledger gets a
zero-delta "reconcile" row saying so, for the movements view); a ledger whose reserved sum
disagrees with the held reservations gets a correcting "reconcile" row. Afterwards, for
every repaired row, sum(delta_on_hand) == on_hand and sum(delta_reserved) == reserved ==
held."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

from sqlalchemy import func, select, tuple_

from models import (
    ReconciliationReport,
    ReservationStatus,
    Stock,
    StockMovement,
    StockReservation,
    db,
)
from services.errors import NotFound
from services.inventory import stock as inventory
from services.pagination import Page, newest_first

log = logging.getLogger(__name__)

BATCH_SIZE = 500


def reconcile_stock(batch_size: int = BATCH_SIZE) -> ReconciliationReport:
    """Check and repair every stock row, in batches of rows locked in (book_id,
    warehouse_id) order. COMMITS after each batch and stores the report (committed)."""
    report = ReconciliationReport(started_at=datetime.now(UTC), repairs=[])
    db.session.add(report)
    db.session.commit()
    repairs: list[dict] = []
    rows_checked = drifted = 0
    after = None
    while True:
        query = select(Stock.book_id, Stock.warehouse_id).order_by(
            Stock.book_id, Stock.warehouse_id
        )
        if after is not None:
            query = query.where(tuple_(Stock.book_id, Stock.warehouse_id) > after)
        keys = [tuple(row) for row in db.session.execute(query.limit(batch_size))]
        if not keys:
            break
        batch_repairs = _reconcile_batch(keys)
        db.session.commit()
        rows_checked += len(keys)
        drifted += len({(r["book_id"], r["warehouse_id"]) for r in batch_repairs})
        repairs += batch_repairs
        after = keys[-1]
    report.rows_checked = rows_checked
    report.drift_found = drifted
    report.repairs = repairs
    report.finished_at = datetime.now(UTC)
    db.session.commit()
    if drifted:
        log.warning("stock reconciliation repaired drift in %d rows: %s", drifted, repairs[:20])
    return report


def _reconcile_batch(keys: list[tuple]) -> list[dict]:
    stocks = inventory.lock_stock_rows(keys).values()
    # Read after the locks, so no reservation or movement of these rows is in flight.
    ledger = {
        (row.book_id, row.warehouse_id): (int(row.on_hand), int(row.reserved))
        for row in db.session.execute(
            select(
                StockMovement.book_id,
                StockMovement.warehouse_id,
                func.sum(StockMovement.delta_on_hand).label("on_hand"),
                func.sum(StockMovement.delta_reserved).label("reserved"),
            )
            .where(tuple_(StockMovement.book_id, StockMovement.warehouse_id).in_(keys))
            .group_by(StockMovement.book_id, StockMovement.warehouse_id)
        )
    }
    held = {
        (row.book_id, row.warehouse_id): int(row.held)
        for row in db.session.execute(
            select(
                StockReservation.book_id,
                StockReservation.warehouse_id,
                func.sum(StockReservation.quantity).label("held"),
            )
            .where(
                tuple_(StockReservation.book_id, StockReservation.warehouse_id).in_(keys),
                StockReservation.status == ReservationStatus.HELD,
            )
            .group_by(StockReservation.book_id, StockReservation.warehouse_id)
        )
    }
    repairs = []
    for stock in stocks:
        key = (stock.book_id, stock.warehouse_id)
        ledger_on_hand, ledger_reserved = ledger.get(key, (0, 0))
        repairs += _repair(stock, ledger_on_hand, ledger_reserved, held.get(key, 0))
    db.session.flush()
    return repairs


def _repair(stock: Stock, ledger_on_hand: int, ledger_reserved: int, held: int) -> list[dict]:
    found = {
        "on_hand": stock.on_hand,
        "reserved": stock.reserved,
        "ledger_reserved": ledger_reserved,
    }
    expected = {"on_hand": ledger_on_hand, "reserved": held, "ledger_reserved": held}
    drift = [name for name in found if found[name] != expected[name]]
    if not drift:
        return []
    repairable = 0 <= held <= ledger_on_hand
    items = [
        {
            "book_id": str(stock.book_id),
            "warehouse_id": str(stock.warehouse_id),
            "field": name,
            "found": found[name],
            "expected": expected[name],
            "repaired": repairable,
        }
        for name in drift
    ]
    if not repairable:
        log.error(
            "stock row %s/%s cannot be repaired: %s", stock.book_id, stock.warehouse_id, items
        )
        return items
    notes = []
    if stock.on_hand != ledger_on_hand or stock.reserved != held:
        notes.append(
            f"stock row corrected: on_hand {stock.on_hand} -> {ledger_on_hand}, "
            f"reserved {stock.reserved} -> {held}"
        )
        stock.on_hand = ledger_on_hand
        stock.reserved = held
    correction = held - ledger_reserved
    if correction:
        notes.append(f"ledger reserved {ledger_reserved} -> {held} (held reservations)")
    db.session.add(
        StockMovement(
            book_id=stock.book_id,
            warehouse_id=stock.warehouse_id,
            delta_on_hand=0,
            delta_reserved=correction,
            reason="reconcile",
            note="; ".join(notes),
        )
    )
    return items


def reports(limit: int = 20, cursor: str | None = None) -> Page:
    """Reconciliation reports, newest first."""
    return newest_first(
        select(ReconciliationReport),
        ReconciliationReport.started_at,
        ReconciliationReport.id,
        "reconciliation",
        limit,
        cursor,
    )


def report(report_id: uuid.UUID) -> ReconciliationReport:
    found = db.session.get(ReconciliationReport, report_id)
    if found is None:
        raise NotFound("No such reconciliation report.")
    return found

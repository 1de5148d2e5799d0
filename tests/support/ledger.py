"""Independent check of the stock ledger invariant, in plain SQL (not through our services)."""

from __future__ import annotations

from sqlalchemy import text

# Stock rows whose on_hand/reserved disagree with the ledger or with the held reservations.
DRIFT_SQL = text(
    """
    SELECT s.book_id, s.warehouse_id, s.on_hand, s.reserved,
           COALESCE(m.on_hand, 0) AS ledger_on_hand,
           COALESCE(m.reserved, 0) AS ledger_reserved,
           COALESCE(r.held, 0) AS held
    FROM stock s
    LEFT JOIN (
        SELECT book_id, warehouse_id, SUM(delta_on_hand) AS on_hand,
               SUM(delta_reserved) AS reserved
        FROM stock_movements GROUP BY book_id, warehouse_id
    ) m USING (book_id, warehouse_id)
    LEFT JOIN (
        SELECT book_id, warehouse_id, SUM(quantity) AS held
        FROM stock_reservations WHERE status = 'held' GROUP BY book_id, warehouse_id
    ) r USING (book_id, warehouse_id)
    WHERE s.on_hand <> COALESCE(m.on_hand, 0)
       OR s.reserved <> COALESCE(m.reserved, 0)
       OR s.reserved <> COALESCE(r.held, 0)
       OR s.on_hand < 0 OR s.reserved < 0 OR s.reserved > s.on_hand
    """
)


def ledger_drift(connection) -> list[dict]:
    """Every stock row that breaks the invariant; [] when the ledger reconciles."""
    return [dict(row._mapping) for row in connection.execute(DRIFT_SQL)]

"""Low-stock alerts: each stock row at or under its threshold is reported once per crossing.

A row is marked (``low_stock_alerted_at``) when it is reported; restocking it above the
threshold (``inventory.adjust``/``set_stock``/``restock``) clears the mark, so the next
crossing is reported again."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from models import Book, Stock, Warehouse, db


def claim_low_stock_alerts(now: datetime) -> list[dict]:
    """Mark and return the stock rows that crossed their threshold since their last alert:
    ``[{book_id, title, warehouse, available, low_stock_threshold, alerted_at}]``. Rows
    locked by a checkout right now are left for the next run. Does not commit."""
    rows = db.session.execute(
        select(Stock, Book.title, Warehouse.code)
        .join(Book, Book.id == Stock.book_id)
        .join(Warehouse, Warehouse.id == Stock.warehouse_id)
        .where(
            Stock.on_hand - Stock.reserved <= Stock.low_stock_threshold,
            Stock.low_stock_alerted_at.is_(None),
        )
        .order_by(Stock.book_id, Stock.warehouse_id)
        .with_for_update(of=Stock, skip_locked=True)
        .execution_options(populate_existing=True)
    ).all()
    alerts = []
    for stock, title, code in rows:
        stock.low_stock_alerted_at = now
        alerts.append(
            {
                "book_id": str(stock.book_id),
                "title": title,
                "warehouse": code,
                "available": stock.available,
                "low_stock_threshold": stock.low_stock_threshold,
                "alerted_at": now.isoformat(),
            }
        )
    db.session.flush()
    return alerts

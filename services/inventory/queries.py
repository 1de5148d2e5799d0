"""Read side of inventory for staff: stock levels and the movement ledger, cursor-paged."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from models import Book, Stock, StockMovement, Warehouse, db
from services.errors import NotFound
from services.pagination import Page, SortKey, SortOrder, page_after, uuid_key

STOCK_ORDER = SortOrder(
    (SortKey(Stock.book_id, parse=uuid_key), SortKey(Stock.warehouse_id, parse=uuid_key))
)
MOVEMENT_ORDER = SortOrder((SortKey(StockMovement.id, descending=True),))


def _stock_item(stock: Stock, title: str, warehouse_code: str) -> dict:
    return {
        "book_id": stock.book_id,
        "title": title,
        "warehouse": warehouse_code,
        "on_hand": stock.on_hand,
        "reserved": stock.reserved,
        "available": stock.available,
        "low_stock_threshold": stock.low_stock_threshold,
        "low_stock_alerted_at": stock.low_stock_alerted_at,
        "updated_at": stock.updated_at,
    }


def stock_levels(below_threshold: bool = False, limit: int = 20, cursor: str | None = None) -> Page:
    """Stock per book and warehouse (with title and warehouse code), in (book, warehouse)
    order; ``below_threshold`` keeps the rows whose available stock is at or under their
    low-stock threshold."""
    query = (
        select(Stock, Book.title, Warehouse.code)
        .join(Book, Book.id == Stock.book_id)
        .join(Warehouse, Warehouse.id == Stock.warehouse_id)
    )
    if below_threshold:
        query = query.where(Stock.on_hand - Stock.reserved <= Stock.low_stock_threshold)
    page = page_after(query, STOCK_ORDER, "stock", limit, cursor, entity=lambda row: row[0])
    return Page([_stock_item(*row) for row in page.items], page.next_cursor)


def stock_level(book_id: uuid.UUID, warehouse_code: str | None = None) -> dict:
    """One book's stock in one warehouse (default: the default warehouse), as listed above."""
    query = (
        select(Stock, Book.title, Warehouse.code)
        .join(Book, Book.id == Stock.book_id)
        .join(Warehouse, Warehouse.id == Stock.warehouse_id)
        .where(Stock.book_id == book_id)
        .where(Warehouse.code == warehouse_code if warehouse_code else Warehouse.is_default)
        .execution_options(populate_existing=True)
    )
    row = db.session.execute(query).first()
    if row is None:
        raise NotFound("No stock for this book in that warehouse.")
    return _stock_item(*row)


def movements(book_id: uuid.UUID, limit: int = 20, cursor: str | None = None) -> Page:
    """The ledger rows of one book, newest first."""
    if db.session.get(Book, book_id) is None:
        raise NotFound("No such book.")
    query = (
        select(StockMovement, Warehouse.code)
        .join(Warehouse, Warehouse.id == StockMovement.warehouse_id)
        .where(StockMovement.book_id == book_id)
    )
    page = page_after(query, MOVEMENT_ORDER, "movements", limit, cursor, entity=lambda r: r[0])
    items = [
        {
            "id": movement.id,
            "warehouse": code,
            "delta_on_hand": movement.delta_on_hand,
            "delta_reserved": movement.delta_reserved,
            "reason": movement.reason,
            "reference": movement.reference,
            "note": movement.note,
            "actor_id": movement.actor_id,
            "created_at": movement.created_at,
        }
        for movement, code in page.items
    ]
    return Page(items, page.next_cursor)

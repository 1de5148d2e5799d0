"""Back in stock: a shopper asks about an out-of-stock book and is told once it returns."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from models import BackInStockRequest, Book, Stock, User, db
from services.errors import NotFound
from services.notifications.events import notify


class BookNotFound(NotFound):
    """No such book."""

    error = "book_not_found"


def _available(book_id) -> int:
    return db.session.scalar(
        select(func.coalesce(func.sum(Stock.on_hand - Stock.reserved), 0)).where(
            Stock.book_id == book_id
        )
    )


def ask(user: User, book_id: uuid.UUID) -> dict:
    """Record the request (one open request per shopper and book). Commits."""
    if db.session.get(Book, book_id) is None:
        raise BookNotFound()
    db.session.execute(
        insert(BackInStockRequest)
        .values(id=uuid.uuid4(), user_id=user.id, book_id=book_id)
        .on_conflict_do_nothing(
            index_elements=["user_id", "book_id"],
            index_where=BackInStockRequest.notified_at.is_(None),
        )
    )
    db.session.commit()
    return {"book_id": book_id, "in_stock": _available(book_id) > 0, "subscribed": True}


def tell_waiting(limit: int = 500) -> tuple[int, list[int]]:
    """Requests whose book is available again: marked told and a back_in_stock notification
    recorded, in one transaction. Commits. Returns (how many, outbox ids)."""
    available = (
        select(Stock.book_id)
        .group_by(Stock.book_id)
        .having(func.sum(Stock.on_hand - Stock.reserved) > 0)
    )
    rows = db.session.execute(
        select(BackInStockRequest, Book.title)
        .join(Book, Book.id == BackInStockRequest.book_id)
        .where(
            BackInStockRequest.notified_at.is_(None),
            BackInStockRequest.book_id.in_(available),
        )
        .order_by(BackInStockRequest.created_at)
        .limit(limit)
        .with_for_update(of=BackInStockRequest, skip_locked=True)
    ).all()
    outbox_ids = []
    for request, title in rows:
        request.notified_at = datetime.now(UTC)
        outbox_id = notify(
            "back_in_stock",
            request.user_id,
            {"book_id": str(request.book_id), "title": title},
            f"back_in_stock:{request.id}",
        )
        if outbox_id is not None:
            outbox_ids.append(outbox_id)
    db.session.commit()
    return len(rows), outbox_ids

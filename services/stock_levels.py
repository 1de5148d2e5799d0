"""Available stock per book (on hand minus reserved, over every warehouse), for display."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select

from models import Stock, db


def availability(book_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, int]:
    if not book_ids:
        return {}
    rows = db.session.execute(
        select(Stock.book_id, func.sum(Stock.on_hand - Stock.reserved))
        .where(Stock.book_id.in_(book_ids))
        .group_by(Stock.book_id)
    )
    return {book_id: int(available) for book_id, available in rows}

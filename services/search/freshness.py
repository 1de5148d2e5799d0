"""Freshness of the search index: changes record reindex requests (with an outbox message that
wakes the reindexer) in their own transaction; the reindexer applies them in batches."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import redis
from sqlalchemy import text
from sqlalchemy.orm import Session

from models import ReindexRequest, db
from services import outbox
from services.catalog import cache as catalog_cache
from services.search.documents import write_documents

Mirror = Callable[[Session, list[uuid.UUID]], object]
REINDEX_BOOKS = "reindex_books"  # outbox message kind
BATCH_SIZE = 500  # documents written per batch
_RECORDED = "search.reindex_outbox_ids"
ORDER_REASON = "order:"  # the reason of an order's sales counts (services.orders.placement)


def book_changed(
    book_ids: Iterable[uuid.UUID], reason: str, send_after_commit: bool = True
) -> None:
    """Record, in the current transaction, that these books' documents must be rebuilt.
    With ``send_after_commit``, ``take_recorded()`` gives the outbox ids to send after the
    commit; otherwise the outbox relay sends the message."""
    ids = list(dict.fromkeys(book_ids))
    if not ids:
        return
    db.session.add_all(ReindexRequest(book_id=book_id, reason=reason) for book_id in ids)
    message = outbox.record(REINDEX_BOOKS, {"book_ids": [str(book_id) for book_id in ids]})
    if send_after_commit:
        db.session.flush()
        db.session.info.setdefault(_RECORDED, []).append(message.id)


WAKE_KEY = "bookstore:search:reindex-wake"


def needs_wake_up(debounce_seconds: float) -> bool:
    """Whether a reindex message must publish its own wake-up of the reindexer. Not while a
    wake-up published less than half the debounce ago is still to run: it runs once the
    debounce has passed (never earlier), so it applies every request committed before this
    call. Checked after the requests committed; with no debounce, or Redis unreachable, every
    message wakes the reindexer as before. Saves a task per order on a busy shop (each
    order's sales counts are a reindex request)."""
    if debounce_seconds <= 0:
        return True
    try:
        window_ms = max(1, int(debounce_seconds * 500))
        return bool(catalog_cache.client().set(WAKE_KEY, 1, nx=True, px=window_ms))
    except redis.RedisError:
        return True


def wake_up_failed() -> None:
    """The wake-up this process claimed was not published: let the next message send one."""
    with contextlib.suppress(redis.RedisError):
        catalog_cache.client().delete(WAKE_KEY)


def take_recorded() -> list[int]:
    """The reindex outbox ids recorded through this session (and forget them)."""
    return db.session.info.pop(_RECORDED, [])


@dataclass
class Applied:
    batches: int = 0
    requests: int = 0
    written: int = 0
    removed: int = 0
    # Requests for another reason than an order's sales (catalog edits, imports, reviews).
    catalog_requests: int = 0


def apply_pending(batch_size: int = BATCH_SIZE, mirror: Mirror | None = None) -> Applied:
    """Apply every pending reindex request, one committed batch of up to ``batch_size``
    books at a time. Many requests for one book become one document write; concurrent
    reindexers skip each other's locked requests; re-applying changes nothing. ``mirror``
    (the Elasticsearch index) receives each batch before it commits: if it fails, the batch
    stays pending and the task retries."""
    applied = Applied()
    while True:
        claimed = db.session.execute(
            text(
                "SELECT id, book_id, reason FROM search_reindex_requests"
                " WHERE processed_at IS NULL"
                " ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED"
            ),
            {"limit": batch_size * 4},
        ).all()
        if not claimed:
            db.session.rollback()
            return applied
        books = list(dict.fromkeys(row.book_id for row in claimed))[:batch_size]
        chosen = set(books)
        request_ids = [row.id for row in claimed if row.book_id in chosen]
        catalog_requests = sum(
            1
            for row in claimed
            if row.book_id in chosen and not (row.reason or "").startswith(ORDER_REASON)
        )
        written, removed = write_documents(db.session, books)
        if mirror is not None:
            mirror(db.session, books)
        db.session.execute(
            text("UPDATE search_reindex_requests SET processed_at = now() WHERE id = ANY(:ids)"),
            {"ids": request_ids},
        )
        db.session.commit()
        applied.batches += 1
        applied.requests += len(request_ids)
        applied.catalog_requests += catalog_requests
        applied.written += written
        applied.removed += removed

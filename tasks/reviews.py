"""Review follow-up work (default queue): the book's rating summary, recomputed off-request."""

from __future__ import annotations

import uuid

from celery import shared_task

from services.catalog import cache as catalog_cache
from services.reviews import summary
from tasks.orders import STEP_RETRY

REFRESH_RATING_SUMMARY = "tasks.reviews.refresh_rating_summary"


@shared_task(name=REFRESH_RATING_SUMMARY, **STEP_RETRY)
def refresh_rating_summary(book_id: str) -> bool:
    """Recompute one book's rating summary (idempotent). When it changed, the catalog cache is
    invalidated; the ``reindex_books`` message it recorded is sent by the outbox relay."""
    changed = bool(summary.refresh(uuid.UUID(book_id)))
    if changed:
        catalog_cache.invalidate()
    return changed

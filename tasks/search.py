"""Search index tasks (search queue): apply the recorded reindex requests in batches."""

from __future__ import annotations

import logging

from celery import shared_task

from services.catalog import cache as catalog_cache
from services.orders import placement as order_placement
from services.search import freshness
from tasks.orders import STEP_RETRY, _run

log = logging.getLogger(__name__)


@shared_task(name="tasks.search.reindex_books", bind=True, **STEP_RETRY)
def reindex_books(self, order_id: str | None = None) -> str:
    """Apply every pending reindex request (up to 500 books per committed batch). As the
    order flow's last step, first record the order's books (their sales counts changed)."""
    outcome = "continue"
    if order_id is not None:
        outcome = _run(self, order_placement.reindex_books, order_id)
    applied = freshness.apply_pending()
    if applied.requests:
        catalog_cache.invalidate()  # cached search pages were built from the older documents
        log.info("search: %s", applied)
    return outcome

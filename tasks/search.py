"""Search index tasks (search queue): apply the recorded reindex requests in batches."""

from __future__ import annotations

import logging
import uuid

from celery import shared_task
from flask import current_app

from services.catalog import cache as catalog_cache
from services.ops.jobs import record_run
from services.orders import placement as order_placement
from services.search import consistency, engine, freshness, rebuild
from services.search.backend import SearchUnavailable
from tasks.orders import STEP_RETRY, _run

log = logging.getLogger(__name__)


# An unreachable Elasticsearch is retried like any other infrastructure hiccup.
REINDEX_RETRY = {**STEP_RETRY, "autoretry_for": (*STEP_RETRY["autoretry_for"], SearchUnavailable)}


@shared_task(name="tasks.search.reindex_books", bind=True, **REINDEX_RETRY)
def reindex_books(self, order_id: str | None = None) -> str:
    """Apply every pending reindex request (up to 500 books per committed batch). As the
    order flow's last step, first record the order's books (their sales counts changed)."""
    outcome = "continue"
    if order_id is not None:
        outcome = _run(self, order_placement.reindex_books, order_id)
    config = current_app.config
    mirror = engine.mirror_for(config["SEARCH_BACKEND"], config["ELASTICSEARCH_URL"])
    applied = freshness.apply_pending(mirror=mirror)
    if applied.catalog_requests:
        catalog_cache.invalidate()  # cached search pages were built from the older documents
    elif applied.requests:
        # Only orders' sales counts moved (every checkout): like stock, cached pages are
        # rebuilt once older than CATALOG_STOCK_STALENESS_SECONDS, not all dropped at once.
        catalog_cache.stock_changed()
        log.info("search: %s", applied)
    return outcome


@shared_task(name="tasks.search.search_consistency")
def search_consistency() -> dict:
    """Nightly: reindex every book whose search document (or indexed copy) differs from the
    catalog; the counts go to GET /admin/jobs."""
    config = current_app.config
    mirror = engine.mirror_for(config["SEARCH_BACKEND"], config["ELASTICSEARCH_URL"])
    versions = None
    if mirror is not None:
        versions = engine.elasticsearch_backend(config["ELASTICSEARCH_URL"]).indexed_versions
    with record_run("search_consistency") as run:
        run.counts.update(consistency.repair(mirror=mirror, indexed_versions=versions))
    catalog_cache.invalidate()
    return run.counts


@shared_task(name="tasks.search.rebuild_index", bind=True, **REINDEX_RETRY)
def rebuild_index(self, run_id: str | None = None, documents: bool = True) -> dict:
    """A full rebuild (staff request, or the start of an app whose Elasticsearch index is
    missing or outdated): PostgreSQL documents, then a new index swapped in behind the alias;
    progress in the ``search_rebuild`` run ``run_id``. Without ``documents``, the PostgreSQL
    documents are taken as they are (the app's start just built or found them)."""
    config = current_app.config
    elasticsearch = None
    if config["SEARCH_BACKEND"] == "elasticsearch":
        elasticsearch = engine.elasticsearch_backend(config["ELASTICSEARCH_URL"])
    counts = rebuild.run(uuid.UUID(run_id) if run_id else None, elasticsearch, documents)
    catalog_cache.invalidate()
    return counts

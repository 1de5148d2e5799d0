"""Search consistency: compare the indexed documents with the catalog (ids, versions, stock
flag), reindex what differs, and the figures GET /admin/search shows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import text

from models import db
from services.search import freshness

# Active books whose document is missing, older than the book, or wrong about its stock.
_DIFFERING = """
SELECT b.id FROM books b
LEFT JOIN search_documents d ON d.book_id = b.id
LEFT JOIN LATERAL (SELECT coalesce(sum(s.on_hand - s.reserved), 0) > 0 AS in_stock
                   FROM stock s WHERE s.book_id = b.id) st ON true
WHERE b.status = 'active'
  AND (d.book_id IS NULL OR d.version < b.updated_at OR d.in_stock <> st.in_stock)
UNION ALL
SELECT d.book_id FROM search_documents d
WHERE NOT EXISTS (SELECT 1 FROM books b WHERE b.id = d.book_id AND b.status = 'active')
"""


def repair(
    mirror: freshness.Mirror | None = None,
    indexed_versions: Callable[[], dict[str, int]] | None = None,
) -> dict[str, int]:
    """Reindex every book whose document differs from the catalog; with an Elasticsearch
    ``mirror``, also every book whose indexed version differs from its document's."""
    differing = [row[0] for row in db.session.execute(text(_DIFFERING))]
    counts = {"differing": len(differing), "index_differing": 0}
    freshness.book_changed(differing, "consistency", send_after_commit=False)
    db.session.commit()
    applied = freshness.apply_pending(mirror=mirror)
    counts.update(written=applied.written, removed=applied.removed)
    if mirror is not None and indexed_versions is not None:
        indexed = indexed_versions()
        stored = {
            str(book_id): int(version)
            for book_id, version in db.session.execute(
                text(
                    "SELECT book_id, (extract(epoch FROM version) * 1000000)::bigint"
                    " FROM search_documents"
                )
            )
        }
        ids = {i for i in stored.keys() | indexed.keys() if stored.get(i) != indexed.get(i)}
        counts["index_differing"] = len(ids)
        if ids:
            mirror(db.session, sorted(ids), repair=True)
        db.session.rollback()
    return counts


def status(backend: str, indexed: int | None = None) -> dict:
    """What GET /admin/search shows: documents vs active books, the backlog and its age,
    the last full rebuild and the last consistency run."""
    row = db.session.execute(
        text(
            "SELECT (SELECT count(*) FROM books WHERE status = 'active') AS books_active,"
            " (SELECT count(*) FROM search_documents) AS documents,"
            " (SELECT count(*) FROM search_reindex_requests WHERE processed_at IS NULL)"
            "   AS backlog,"
            " (SELECT min(created_at) FROM search_reindex_requests WHERE processed_at IS NULL)"
            "   AS oldest,"
            " (SELECT max(finished_at) FROM job_runs WHERE job = 'search_rebuild'"
            "   AND status = 'succeeded') AS last_rebuild,"
            " (SELECT max(finished_at) FROM job_runs WHERE job = 'search_consistency'"
            "   AND status = 'succeeded') AS last_consistency"
        )
    ).one()
    db.session.rollback()
    oldest = row.oldest
    return {
        "backend": backend,
        "books_active": row.books_active,
        "documents_indexed": indexed if indexed is not None else row.documents,
        "postgres_documents": row.documents,
        "backlog": row.backlog,
        "oldest_backlog_age_seconds": (
            round((datetime.now(UTC) - oldest).total_seconds(), 1) if oldest else None
        ),
        "last_full_rebuild_at": row.last_rebuild,
        "last_consistency_run_at": row.last_consistency,
    }

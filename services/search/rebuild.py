"""Full rebuilds of the search index, as followed runs of the ``search_rebuild`` job: every
PostgreSQL document, then (Elasticsearch backend) a new index swapped in behind the alias,
with its progress (done/total) in the run's counts for GET /admin/jobs and /readyz."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import text

from models import db
from services.errors import Conflict
from services.ops import jobs
from services.search.documents import rebuild_all, vacuum

JOB = "search_rebuild"
TASK = "tasks.search.rebuild_index"
# A run still 'running' after this long is taken for one whose worker died.
STALE_AFTER = timedelta(hours=1)


class RebuildRunning(Conflict):
    """A full rebuild of the search index is already under way."""

    error = "search_rebuild_running"


def request(backend_name: str) -> uuid.UUID:
    """A new rebuild run (the task that does it gets its id), unless one is under way."""
    under_way = jobs.running(JOB, STALE_AFTER)
    db.session.rollback()
    if under_way is not None:
        raise RebuildRunning(f"Rebuild {under_way.id} is under way.", run_id=str(under_way.id))
    return jobs.start_run(JOB, {"backend": backend_name, "done": 0, "total": None})


def progress() -> dict | None:
    """The rebuild under way: its run id and counts so far, or None."""
    run = jobs.running(JOB, STALE_AFTER)
    db.session.rollback()
    if run is None:
        return None
    counts = run.counts or {}
    return {"run_id": str(run.id), "done": counts.get("done", 0), "total": counts.get("total")}


def run(run_id: uuid.UUID | None, elasticsearch=None, documents: bool = True) -> dict:
    """Rebuild every PostgreSQL document (one transaction: readers see the old ones until it
    commits; skipped without ``documents``), then with an ``elasticsearch`` backend a new
    index, swapped in when complete."""
    with jobs.record_run(JOB, run_id=run_id) as handle:
        if documents:
            written = rebuild_all(db.session)
            db.session.commit()
            vacuum(db.session)
        else:
            written = db.session.execute(text("SELECT count(*) FROM search_documents")).scalar()
        counts = {"documents": written}
        if elasticsearch is None:
            counts.update(done=written, total=written)
        jobs.report_progress(handle, **counts)
        if elasticsearch is not None:
            summary = elasticsearch.rebuild(
                db.session,
                progress=lambda done, total: jobs.report_progress(handle, done=done, total=total),
            )
            db.session.rollback()
            handle.counts.update(
                done=summary["documents"],
                total=written,
                caught_up=summary["caught_up"],
                replaced=len(summary["replaced"]),
                index=summary["index"],
            )
    return dict(handle.counts)

"""What /readyz says of search: the configured backend, whether it answers, and for
Elasticsearch the state of its index (a rebuild under way, with its progress)."""

from __future__ import annotations

from sqlalchemy import text

from models import db
from services.search import engine, rebuild
from services.search.backend import SearchUnavailable
from services.search.elastic_index import READY


def state(backend_name: str, elasticsearch_url: str | None) -> dict:
    """``status``: "up" (the configured backend answers), "degraded" (PostgreSQL answers
    while the Elasticsearch index is missing, outdated or being rebuilt) or "down"."""
    building = rebuild.progress()
    extra = {"rebuild": building} if building else {}
    if backend_name != "elasticsearch":
        documents = db.session.execute(text("SELECT count(*) FROM search_documents")).scalar()
        db.session.rollback()
        return {"status": "up", "backend": backend_name, "documents": documents, **extra}
    backend = engine.elasticsearch_backend(elasticsearch_url)
    try:
        index = backend.index_state()
    except SearchUnavailable as exc:
        return {
            "status": "down",
            "backend": backend_name,
            "answering": "postgres",
            "error": str(exc)[:300],
            **extra,
        }
    return {
        "status": "up" if index == READY else "degraded",
        "backend": backend_name,
        "index": "building" if building and index != READY else index,
        "answering": backend_name if index == READY else "postgres",
        **extra,
    }

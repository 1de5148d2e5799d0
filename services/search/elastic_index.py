"""Writing the Elasticsearch index: documents mirrored from ``search_documents`` with external
versioning, full rebuilds into a new index swapped in behind the alias, and the state of the
index (ready, missing, outdated) that decides whether it answers."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable

from elasticsearch import Elasticsearch, helpers
from sqlalchemy import text
from sqlalchemy.orm import Session

from services.search.backend import SearchUnavailable
from services.search.documents import SERIES_PATTERN
from services.search.elastic_mappings import (
    ALIAS,
    ANALYSIS,
    BULK_CHUNK,
    MAPPINGS,
    SCHEMA,
    WRITE_TIMEOUT,
)

READY = "ready"
# How long a process trusts what it last saw of the index's state (one call to the engine).
STATE_CHECK_SECONDS = 5.0
_states: dict[tuple[int, str], tuple[float, str]] = {}


class ElasticIndex:
    """The index behind ``alias``: what writes to it, rebuilds it and says whether it can
    answer."""

    def __init__(self, client: Elasticsearch, alias: str = ALIAS) -> None:
        self.client = client
        self.alias = alias

    def sync(
        self, session: Session, book_ids: Iterable[uuid.UUID], repair: bool = False
    ) -> tuple[int, int]:
        """Mirror these books' search documents into the index: (indexed, deleted). Each write
        carries the document's version (external versioning): an older one is refused. A
        ``repair`` writes as of now, above whatever version the index holds (a document
        deleted by hand leaves a tombstone of a higher version)."""
        ids = list(book_ids)
        if not ids or self.index_state() != READY:
            # No current index to write to: the rebuild under way (or the next one) reads
            # these documents, and its catch-up after the swap covers what changed meanwhile.
            return 0, 0
        rows = {doc["book_id"]: doc for doc in _documents(session, ids)}
        gone = [str(book_id) for book_id in ids if str(book_id) not in rows]
        now = _micros(time.time())
        if repair:
            rows = {key: {**doc, "version": max(doc["version"], now)} for key, doc in rows.items()}
        actions = [_index_action(self.alias, doc) for doc in rows.values()] + [
            {
                "_op_type": "delete",
                "_index": self.alias,
                "_id": book_id,
                "version": now,
                "version_type": "external",
            }
            for book_id in gone
        ]
        self._bulk(actions)
        return len(rows), len(gone)

    def rebuild(
        self,
        session: Session,
        progress: Callable[[int, int], None] | None = None,
        only: list[uuid.UUID] | None = None,
    ) -> dict:
        """Build a new index from every document, then swap the alias to it atomically (search
        keeps answering from the old one meanwhile) and delete the old indexes."""
        started = time.perf_counter()
        since = session.execute(text("SELECT clock_timestamp()")).scalar()
        name = f"{self.alias}-{SCHEMA}-{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:6]}"
        self._call(
            self.client.indices.create,
            index=name,
            settings={"number_of_shards": 1, "analysis": ANALYSIS},
            mappings=MAPPINGS,
        )
        total = (
            len(only)
            if only is not None
            else session.execute(text("SELECT count(*) FROM search_documents")).scalar()
        )
        done = 0
        if progress:
            progress(done, total)
        batch: list[dict] = []
        for doc in _documents(session, only):
            batch.append(_index_action(name, doc))
            if len(batch) == BULK_CHUNK:
                done += self._bulk(batch)
                batch = []
                if progress:
                    progress(done, total)
        if batch:
            done += self._bulk(batch)
        if progress:
            progress(done, total)
        self._call(self.client.options(request_timeout=WRITE_TIMEOUT).indices.refresh, index=name)
        old = list(self._aliased())
        actions = [{"remove": {"index": index, "alias": self.alias}} for index in old]
        actions.append({"add": {"index": name, "alias": self.alias}})
        self._call(self.client.indices.update_aliases, actions=actions)
        _states[self._state_key] = (time.monotonic(), READY)
        for index in old:
            self._call(self.client.indices.delete, index=index)
        # Catch-up: books reindexed while this index was being built (their batches did not
        # write to it, or wrote to the old one).
        changed = session.scalars(
            text(
                "SELECT DISTINCT book_id FROM search_reindex_requests WHERE processed_at >= :since"
            ),
            {"since": since},
        ).all()
        if only is not None:
            changed = [book_id for book_id in changed if book_id in set(only)]
        caught_up, _ = self.sync(session, changed)
        return {
            "index": name,
            "documents": done,
            "caught_up": caught_up,
            "replaced": old,
            "seconds": round(time.perf_counter() - started, 1),
        }

    def has_index(self) -> bool:
        return bool(self._aliased())

    def index_state(self) -> str:
        """ "ready" (the alias names an index of the current SCHEMA), "missing" or "outdated"."""
        aliased = self._aliased()
        if not aliased:
            state = "missing"
        elif any(name.startswith(f"{self.alias}-{SCHEMA}-") for name in aliased):
            state = READY
        else:
            state = "outdated"
        _states[self._state_key] = (time.monotonic(), state)
        return state

    def ready(self) -> bool:
        """Whether the index can answer, as this process last saw it (within
        STATE_CHECK_SECONDS): reachable, and the alias names an index of the current SCHEMA."""
        checked = _states.get(self._state_key)
        if checked is not None and time.monotonic() - checked[0] <= STATE_CHECK_SECONDS:
            return checked[1] == READY
        try:
            return self.index_state() == READY
        except SearchUnavailable:
            _states[self._state_key] = (time.monotonic(), "unreachable")
            return False

    def _require_ready(self) -> None:
        """Searching a missing or outdated index is refused as unavailable: PostgreSQL
        answers until the (background) rebuild swaps the alias to a current index."""
        if not self.ready():
            raise SearchUnavailable(f"the search index is {_states[self._state_key][1]}")

    @property
    def _state_key(self) -> tuple[int, str]:
        return id(self.client), self.alias

    def indexed_versions(self) -> dict[str, int]:
        """book id -> version of every indexed document (for the consistency job)."""
        versions = {}
        for hit in helpers.scan(
            self.client, index=self.alias, query={"query": {"match_all": {}}}, version=True
        ):
            versions[hit["_id"]] = hit.get("_version")
        return versions

    def count(self) -> int:
        return self._call(self.client.count, index=self.alias)["count"]

    def refresh(self) -> None:
        self._call(self.client.indices.refresh, index=self.alias)

    def _aliased(self) -> list[str]:
        if not self._call(self.client.indices.exists_alias, name=self.alias):
            return []
        return list(self._call(self.client.indices.get_alias, name=self.alias))

    def _bulk(self, actions: list[dict]) -> int:
        ok, errors = self._call(
            helpers.bulk,
            self.client.options(request_timeout=WRITE_TIMEOUT),
            actions,
            raise_on_error=False,
            refresh=False,
        )
        real = [e for e in errors if _status(e) not in (409, 404)]  # older version / gone
        if real:
            raise SearchUnavailable(f"bulk indexing failed: {real[:3]}")
        return ok + len(errors) - len(real)

    @staticmethod
    def _call(function, *args, **kwargs):
        from elastic_transport import ConnectionError as TransportConnectionError
        from elastic_transport import ConnectionTimeout
        from elasticsearch import NotFoundError

        try:
            return function(*args, **kwargs)
        except (TransportConnectionError, ConnectionTimeout) as exc:
            raise SearchUnavailable(f"Elasticsearch unreachable: {exc}") from exc
        except NotFoundError as exc:  # the alias went away (deleted by hand)
            raise SearchUnavailable(f"Elasticsearch: {exc}") from exc


def _status(error: dict) -> int:
    return next(iter(error.values())).get("status", 0)


def _micros(seconds: float) -> int:
    return int(seconds * 1_000_000)


def _documents(session: Session, book_ids: list | None):
    where = "WHERE book_id = ANY(:ids)" if book_ids is not None else ""
    rows = session.execute(
        text(
            "SELECT book_id, extract(epoch FROM version) AS version, title, authors, author_ids,"
            " (SELECT array_agg(x.id || '|' || a.name) FROM unnest(author_ids) AS x(id)"
            "   JOIN authors a ON a.id = x.id) AS author_keys,"
            " coalesce(substring(title from :series), '') || ' '"
            "   || replace(array_to_string(genres, ' '), '_', ' ') AS series_genres,"
            " description, genres, language, price_cents, average_rating, ratings_count,"
            " sales_count, coalesce(publication_year, -32768) AS year, in_stock"
            f" FROM search_documents {where} ORDER BY book_id"
        ).execution_options(yield_per=BULK_CHUNK),
        {"ids": book_ids, "series": SERIES_PATTERN},
    )
    for row in rows:
        yield {
            "book_id": str(row.book_id),
            "version": _micros(float(row.version)),
            "title": row.title,
            "authors": row.authors,
            "author_keys": row.author_keys or [],
            "author_ids": [str(a) for a in row.author_ids],
            "series_genres": row.series_genres,
            "description": row.description,
            "genres": row.genres,
            "language": row.language,
            "price_cents": row.price_cents,
            "average_rating": float(row.average_rating),
            "ratings_count": row.ratings_count,
            "sales_count": row.sales_count,
            "popularity": row.ratings_count + row.sales_count,
            "year": row.year,
            "in_stock": row.in_stock,
        }


def _index_action(index: str, doc: dict) -> dict:
    source = {k: v for k, v in doc.items() if k != "version"}
    return {
        "_op_type": "index",
        "_index": index,
        "_id": doc["book_id"],
        "version": doc["version"],
        "version_type": "external_gte",
        "_source": source,
    }

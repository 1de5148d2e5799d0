"""The Elasticsearch backend: documents mirrored from ``search_documents`` into an index behind
the ``books`` alias (english stemming, accent folding, edge n-grams for suggestions, fuzzy
matching), facets by filter aggregations, ``search_after`` cursors, external versioning."""

from __future__ import annotations

import hashlib
import html
import json
import time
import uuid
from collections.abc import Callable, Iterable

from elasticsearch import Elasticsearch, helpers
from sqlalchemy import literal_column, select, text
from sqlalchemy.orm import Session

from models import Book, db
from services.catalog.reads import CARD_COLUMNS, book_cards
from services.errors import DomainError
from services.pagination import CursorCodec, SortKey, SortOrder, int_key, text_key
from services.search import spelling
from services.search.backend import (
    GENRE_FACET_SIZE,
    PRICE_BANDS,
    RATING_BUCKETS,
    SUGGEST_LIMIT,
    TOTAL_EXACT_UP_TO,
    SearchFilters,
    SearchRequest,
    SearchResult,
)
from services.search.documents import SERIES_PATTERN
from services.search.postgres import FEW_RESULTS, MANY_MORE, _digest, _empty_facets
from services.search.text import words

ALIAS = "books"
BULK_CHUNK = 500
POPULARITY_WEIGHT = 3.0
WRITE_TIMEOUT = 120.0  # bulk writes and refreshes of a whole index take longer than reads
_MARK, _UNMARK = "\ue000", "\ue001"  # private-use characters: never in a title

ANALYSIS = {
    "filter": {
        "english_stemmer": {"type": "stemmer", "language": "english"},
        "edge": {"type": "edge_ngram", "min_gram": 1, "max_gram": 20},
    },
    "analyzer": {
        "folded_english": {
            "tokenizer": "standard",
            "filter": ["lowercase", "asciifolding", "english_stemmer"],
        },
        "folded": {"tokenizer": "standard", "filter": ["lowercase", "asciifolding"]},
        "prefixes": {"tokenizer": "standard", "filter": ["lowercase", "asciifolding", "edge"]},
    },
}
_TEXT = {"type": "text", "analyzer": "folded_english"}
_PREFIXED = {
    **_TEXT,
    "fields": {"prefix": {"type": "text", "analyzer": "prefixes", "search_analyzer": "folded"}},
}
MAPPINGS = {
    "dynamic": "strict",
    "properties": {
        "book_id": {"type": "keyword"},
        "title": _PREFIXED,
        "authors": _PREFIXED,
        "author_keys": {"type": "keyword"},  # "<id>|<name>", for author suggestions
        "author_ids": {"type": "keyword"},
        "series_genres": _TEXT,
        "description": _TEXT,
        "genres": {"type": "keyword"},
        "language": {"type": "keyword"},
        "price_cents": {"type": "integer"},
        "average_rating": {"type": "double"},
        "ratings_count": {"type": "integer"},
        "sales_count": {"type": "integer"},
        "popularity": {"type": "long"},
        "year": {"type": "integer"},
        "in_stock": {"type": "boolean"},
    },
}
FIELDS = ["title^3", "authors^3", "series_genres^2", "description"]
# Index names carry this digest of the analysis and mappings: an index built by an older
# version of them is "outdated", rebuilt in the background while PostgreSQL answers.
SCHEMA = hashlib.sha256(json.dumps([ANALYSIS, MAPPINGS], sort_keys=True).encode()).hexdigest()[:8]
READY = "ready"
# How long a process trusts what it last saw of the index's state (one call to the engine).
STATE_CHECK_SECONDS = 5.0
_states: dict[tuple[int, str], tuple[float, str]] = {}


class SearchUnavailable(DomainError):
    """The search engine cannot be reached."""

    error = "search_unavailable"


def _float_key(value) -> float:
    return float(value)


def _key(name: str, parse) -> SortKey:
    return SortKey(literal_column(name), descending=True, parse=parse)


_ID = SortKey(literal_column("book_id"), parse=text_key)
_SORTS: dict[str, tuple[list, SortOrder]] = {
    "relevance": (
        [{"_score": "desc"}, {"popularity": "desc"}, {"book_id": "asc"}],
        SortOrder((_key("score", _float_key), _key("popularity", int_key), _ID)),
    ),
    "bestselling": (
        [{"sales_count": "desc"}, {"ratings_count": "desc"}, {"book_id": "asc"}],
        SortOrder((_key("sales_count", int_key), _key("ratings_count", int_key), _ID)),
    ),
    "rating": (
        [{"average_rating": "desc"}, {"ratings_count": "desc"}, {"book_id": "asc"}],
        SortOrder((_key("average_rating", _float_key), _key("ratings_count", int_key), _ID)),
    ),
    "price": (
        [{"price_cents": "asc"}, {"book_id": "asc"}],
        SortOrder((SortKey(literal_column("price_cents")), _ID)),
    ),
    "-price": (
        [{"price_cents": "desc"}, {"book_id": "asc"}],
        SortOrder((_key("price_cents", int_key), _ID)),
    ),
    "newest": (
        [{"year": "desc"}, {"book_id": "asc"}],
        SortOrder((_key("year", int_key), _ID)),
    ),
}


def _filters(filters: SearchFilters) -> dict[str, list[dict]]:
    by_facet: dict[str, list[dict]] = {
        "genres": [],
        "languages": [],
        "price": [],
        "rating": [],
        "other": [],
    }
    if filters.genre is not None:
        by_facet["genres"].append({"term": {"genres": filters.genre}})
    if filters.language is not None:
        by_facet["languages"].append({"term": {"language": filters.language}})
    price = {}
    if filters.price_min is not None:
        price["gte"] = filters.price_min
    if filters.price_max is not None:
        price["lte"] = filters.price_max
    if price:
        by_facet["price"].append({"range": {"price_cents": price}})
    if filters.rating_min is not None:
        by_facet["rating"].append({"range": {"average_rating": {"gte": float(filters.rating_min)}}})
    if filters.author is not None:
        by_facet["other"].append({"term": {"author_ids": str(filters.author)}})
    if filters.in_stock is not None:
        by_facet["other"].append({"term": {"in_stock": filters.in_stock}})
    return by_facet


def _all_but(by_facet: dict[str, list[dict]], leave_out: str | None = None) -> dict:
    clauses = [c for facet, cs in by_facet.items() if facet != leave_out for c in cs]
    return {"bool": {"filter": clauses}}


class ElasticsearchSearch:
    name = "elasticsearch"

    def __init__(self, client: Elasticsearch, alias: str = ALIAS) -> None:
        self.client = client
        self.alias = alias

    # -- reading -----------------------------------------------------------------------------

    def search(self, request: SearchRequest) -> SearchResult:
        self._require_ready()
        terms = words(request.q)
        sort, order = _SORTS[request.sort]
        codec = CursorCodec(f"search.es.{request.sort}.{_digest(terms, request.filters)}")
        after = codec.decode(order, request.cursor) if request.cursor else None
        if not terms:
            return SearchResult([], 0, True, _empty_facets(), None, None)
        typed = " ".join(terms)
        match = {"multi_match": {"query": typed, "fields": FIELDS, "operator": "and"}}
        fuzzy = {"multi_match": {**match["multi_match"], "fuzziness": "AUTO"}}
        relevance = {
            "bool": {
                "must": [fuzzy],
                "should": [
                    {"multi_match": {**match["multi_match"], "boost": 2}},
                    {"match_phrase": {"title": {"query": typed, "boost": 2}}},
                ],
            }
        }
        # Popularity adds a little (log scale): among equally good matches the most read wins.
        query = {
            "function_score": {
                "query": relevance,
                "functions": [
                    {
                        "field_value_factor": {
                            "field": "popularity",
                            "modifier": "log1p",
                            "missing": 0,
                        },
                        "weight": POPULARITY_WEIGHT,
                    }
                ],
                "boost_mode": "sum",
            }
        }
        by_facet = _filters(request.filters)
        aggs = {
            "genres": {
                "filter": _all_but(by_facet, "genres"),
                "aggs": {"v": {"terms": {"field": "genres", "size": GENRE_FACET_SIZE}}},
            },
            "languages": {
                "filter": _all_but(by_facet, "languages"),
                "aggs": {"v": {"terms": {"field": "language", "size": 100}}},
            },
            "price": {
                "filter": _all_but(by_facet, "price"),
                "aggs": {
                    "v": {
                        "range": {
                            "field": "price_cents",
                            "ranges": [
                                {"from": lo, **({"to": hi} if hi is not None else {})}
                                for lo, hi in PRICE_BANDS
                            ],
                        }
                    }
                },
            },
            "rating": {
                "filter": _all_but(by_facet, "rating"),
                "aggs": {
                    "v": {
                        "range": {
                            "field": "average_rating",
                            "ranges": [{"from": low} for low in RATING_BUCKETS],
                        }
                    }
                },
            },
        }
        body = self._call(
            self.client.search,
            index=self.alias,
            query=query,
            post_filter=_all_but(by_facet),
            aggs=aggs,
            sort=sort,
            size=request.limit + 1,
            track_total_hits=TOTAL_EXACT_UP_TO,
            _source=["book_id"],
            highlight={
                "pre_tags": [_MARK],
                "post_tags": [_UNMARK],
                "fields": {
                    "title": {"number_of_fragments": 0},
                    "description": {"fragment_size": 160, "number_of_fragments": 1},
                },
            },
            **({"search_after": after} if after is not None else {}),
        )
        hits = body["hits"]["hits"]
        more = len(hits) > request.limit
        hits = hits[: request.limit]
        next_cursor = codec.encode(order, hits[-1]["sort"]) if more else None
        total = body["hits"]["total"]
        return SearchResult(
            items=self._items(hits),
            total=min(total["value"], TOTAL_EXACT_UP_TO),
            total_is_exact=total["relation"] == "eq",
            facets=_facets(body["aggregations"]),
            next_cursor=next_cursor,
            did_you_mean=self._did_you_mean(terms, by_facet),
        )

    def _items(self, hits: list[dict]) -> list[dict]:
        ids = [uuid.UUID(hit["_source"]["book_id"]) for hit in hits]
        if not ids:
            return []
        found = db.session.execute(select(*CARD_COLUMNS).where(Book.id.in_(ids))).all()
        by_id = {card["id"]: card for card in book_cards(found)}
        items = []
        for book_id, hit in zip(ids, hits, strict=True):
            card = by_id.get(book_id)
            if card is None:
                continue
            marked = {
                name: html.escape(fragments[0], quote=False)
                .replace(_MARK, "<mark>")
                .replace(_UNMARK, "</mark>")
                for name, fragments in hit.get("highlight", {}).items()
                if fragments
            }
            if marked:
                card["highlight"] = marked
            items.append(card)
        return items

    def _did_you_mean(self, terms: list[str], by_facet: dict) -> str | None:
        corrected = spelling.correct(db.session, terms)
        if corrected == terms:
            return None

        def count(words_: list[str]) -> int:
            query = {
                "bool": {
                    "must": [
                        {
                            "multi_match": {
                                "query": " ".join(words_),
                                "fields": FIELDS,
                                "operator": "and",
                            }
                        }
                    ],
                    **_all_but(by_facet)["bool"],
                }
            }
            return self._call(self.client.count, index=self.alias, query=query)["count"]

        typed, fixed = count(terms), count(corrected)
        if typed < FEW_RESULTS and fixed >= MANY_MORE * max(typed, 1):
            return " ".join(corrected)
        return None

    def suggest(self, prefix: str, limit: int = SUGGEST_LIMIT) -> list[dict]:
        self._require_ready()
        terms = words(prefix)
        if not terms:
            return []
        typed = " ".join(terms)
        body = self._call(
            self.client.search,
            index=self.alias,
            query={
                "multi_match": {
                    "query": typed,
                    "fields": ["title.prefix", "authors.prefix"],
                    "operator": "and",
                }
            },
            sort=[{"popularity": "desc"}, {"book_id": "asc"}],
            size=limit,
            _source=["book_id", "title", "popularity"],
            aggs={
                "authors": {
                    "terms": {"field": "author_keys", "size": 50},
                    "aggs": {"popularity": {"sum": {"field": "popularity"}}},
                }
            },
        )
        merged = [
            (
                hit["_source"]["popularity"],
                "book",
                hit["_source"]["book_id"],
                hit["_source"]["title"],
            )
            for hit in body["hits"]["hits"]
        ]
        for bucket in body["aggregations"]["authors"]["buckets"]:
            author_id, _, name = bucket["key"].partition("|")
            if _completes(terms, name):
                merged.append((bucket["popularity"]["value"], "author", author_id, name))
        merged.sort(key=lambda entry: -entry[0])
        return [
            {"type": kind, "id": uuid.UUID(ident), "text": shown}
            for _, kind, ident, shown in merged[:limit]
        ]

    # -- writing -----------------------------------------------------------------------------

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


def _completes(terms: list[str], name: str) -> bool:
    """Every typed word begins a word of the (folded) name."""
    name_words = words(name)
    return all(any(w.startswith(term) for w in name_words) for term in terms)


def _facets(aggs: dict) -> dict:
    rating_counts = {b.get("from"): b["doc_count"] for b in aggs["rating"]["v"]["buckets"]}
    return {
        "genres": [
            {"value": b["key"], "count": b["doc_count"]} for b in aggs["genres"]["v"]["buckets"]
        ],
        "languages": [
            {"value": b["key"], "count": b["doc_count"]} for b in aggs["languages"]["v"]["buckets"]
        ],
        "price": [
            {"from_cents": lo, "to_cents": hi, "count": b["doc_count"]}
            for (lo, hi), b in zip(PRICE_BANDS, aggs["price"]["v"]["buckets"], strict=True)
        ],
        # Range buckets come back ordered by their bounds, not as asked: match them by "from".
        "rating": [
            {"min": low, "count": rating_counts.get(float(low), 0)} for low in RATING_BUCKETS
        ],
    }


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

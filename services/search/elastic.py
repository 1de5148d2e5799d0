"""The Elasticsearch backend: searches and suggestions over the index behind the ``books``
alias (its shape in ``elastic_mappings``, its query bodies in ``elastic_query``, its writing
and state in ``elastic_index``); books come back as the catalog's cards."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from models import Book, db
from services.catalog.reads import CARD_COLUMNS, book_cards
from services.pagination import CursorCodec
from services.search import elastic_query as q
from services.search import spelling
from services.search.backend import (
    SUGGEST_LIMIT,
    TOTAL_EXACT_UP_TO,
    SearchRequest,
    SearchResult,
)
from services.search.elastic_index import ElasticIndex
from services.search.postgres import FEW_RESULTS, MANY_MORE, _digest, _empty_facets
from services.search.text import words


class ElasticsearchSearch(ElasticIndex):
    name = "elasticsearch"

    def search(self, request: SearchRequest) -> SearchResult:
        self._require_ready()
        terms = words(request.q)
        sort, order = q.SORTS[request.sort]
        codec = CursorCodec(f"search.es.{request.sort}.{_digest(terms, request.filters)}")
        after = codec.decode(order, request.cursor) if request.cursor else None
        if not terms:
            return SearchResult([], 0, True, _empty_facets(), None, None)
        by_facet = q.filters_by_facet(request.filters)
        body = self._call(
            self.client.search,
            index=self.alias,
            query=q.relevance_query(terms),
            post_filter=q.all_but(by_facet),
            aggs=q.facet_aggregations(by_facet),
            sort=sort,
            size=request.limit + 1,
            track_total_hits=TOTAL_EXACT_UP_TO,
            _source=["book_id"],
            highlight=q.HIGHLIGHT,
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
            facets=q.facets(body["aggregations"]),
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
            highlight = q.marked(hit)
            if highlight:
                card["highlight"] = highlight
            items.append(card)
        return items

    def _did_you_mean(self, terms: list[str], by_facet: dict) -> str | None:
        corrected = spelling.correct(db.session, terms)
        if corrected == terms:
            return None

        def count(words_: list[str]) -> int:
            query = q.match_all_words(words_, by_facet)
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
        body = self._call(
            self.client.search,
            index=self.alias,
            query=q.suggestion_query(terms),
            sort=[{"popularity": "desc"}, {"book_id": "asc"}],
            size=limit,
            _source=["book_id", "title", "popularity"],
            aggs=q.AUTHOR_SUGGESTIONS,
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
            if q.completes(terms, name):
                merged.append((bucket["popularity"]["value"], "author", author_id, name))
        merged.sort(key=lambda entry: -entry[0])
        return [
            {"type": kind, "id": uuid.UUID(ident), "text": shown}
            for _, kind, ident, shown in merged[:limit]
        ]

"""The PostgreSQL search backend: weighted tsvector matching over ``search_documents``, typo
correction from the vocabulary, facet counts by SQL, keyset cursors, ts_headline highlights."""

from __future__ import annotations

import hashlib
import html
import json
import uuid
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import literal_column, select, text

from models import Book, db
from services.catalog.reads import CARD_COLUMNS, book_cards
from services.pagination import CursorCodec, SortKey, SortOrder, decimal_key, int_key, uuid_key
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
from services.search.text import prefix_tsquery, words

# ts_rank weights, in PostgreSQL's order {D, C, B, A}.
WEIGHTS = "'{0.05, 0.2, 0.4, 1.0}'"
# Books matching the words as typed rank above books found only through a correction.
AS_TYPED_BONUS = 2
PHRASE_BONUS = 0.5
# did_you_mean: the typed words found fewer than this, and the correction this many times more.
FEW_RESULTS = 5
MANY_MORE = 3
# Typo correction is looked for only when the words as typed match fewer books than this.
CORRECT_BELOW = FEW_RESULTS
_MARK, _UNMARK = "\x02", "\x03"


class _Hit(NamedTuple):
    """A row of the page: its sort keys and its highlighted title and description."""

    book_id: uuid.UUID
    score: Decimal
    popularity: int
    sales_count: int
    ratings_count: int
    average_rating: Decimal
    price_cents: int
    year: int
    title: str | None
    description: str | None


class _Found(NamedTuple):
    hits: list[_Hit]
    matched: int  # books the words match, filters aside
    total: int
    facets: dict
    spellings: tuple[int, int] | None  # (typed, corrected) books found, with a correction


def _key(name: str, parse, descending: bool = True) -> SortKey:
    return SortKey(literal_column(name), descending=descending, parse=parse)


# Each sort: its keys, all in one direction (so "after the cursor" is one row comparison),
# and the SQL type each cursor value is cast to.
_SORTS: dict[str, tuple[SortOrder, tuple[str, ...]]] = {
    "relevance": (
        SortOrder(
            (_key("score", decimal_key), _key("popularity", int_key), _key("book_id", uuid_key))
        ),
        ("numeric", "bigint", "uuid"),
    ),
    "bestselling": (
        SortOrder(
            (
                _key("sales_count", int_key),
                _key("ratings_count", int_key),
                _key("book_id", uuid_key),
            )
        ),
        ("int", "int", "uuid"),
    ),
    "rating": (
        SortOrder(
            (
                _key("average_rating", decimal_key),
                _key("ratings_count", int_key),
                _key("book_id", uuid_key),
            )
        ),
        ("numeric", "int", "uuid"),
    ),
    "price": (
        SortOrder((_key("price_cents", int_key, False), _key("book_id", uuid_key, False))),
        ("int", "uuid"),
    ),
    "-price": (
        SortOrder((_key("price_cents", int_key), _key("book_id", uuid_key))),
        ("int", "uuid"),
    ),
    "newest": (
        SortOrder((_key("year", int_key), _key("book_id", uuid_key))),
        ("int", "uuid"),
    ),
}


# Filter conditions by the facet they belong to (a facet's counts leave its own out).
def _conditions(filters: SearchFilters) -> dict[str, list[str]]:
    by_facet: dict[str, list[str]] = {
        "genres": [],
        "languages": [],
        "price": [],
        "rating": [],
        "other": [],
    }
    if filters.genre is not None:
        by_facet["genres"].append("genres @> ARRAY[CAST(:f_genre AS varchar(64))]")
    if filters.language is not None:
        by_facet["languages"].append("language = :f_language")
    if filters.price_min is not None:
        by_facet["price"].append("price_cents >= :f_price_min")
    if filters.price_max is not None:
        by_facet["price"].append("price_cents <= :f_price_max")
    if filters.rating_min is not None:
        by_facet["rating"].append("average_rating >= :f_rating_min")
    if filters.author is not None:
        by_facet["other"].append("author_ids @> ARRAY[CAST(:f_author AS uuid)]")
    if filters.in_stock is not None:
        by_facet["other"].append("in_stock = :f_in_stock")
    return by_facet


def _where(by_facet: dict[str, list[str]], leave_out: str | None = None) -> str:
    parts = [c for facet, conds in by_facet.items() if facet != leave_out for c in conds]
    return " AND ".join(parts) or "true"


def _filter_params(filters: SearchFilters) -> dict:
    return {
        "f_genre": filters.genre,
        "f_language": filters.language,
        "f_price_min": filters.price_min,
        "f_price_max": filters.price_max,
        "f_rating_min": filters.rating_min,
        "f_author": filters.author,
        "f_in_stock": filters.in_stock,
    }


class PostgresSearch:
    name = "postgres"

    def search(self, request: SearchRequest) -> SearchResult:
        terms = words(request.q)
        order, casts = _SORTS[request.sort]
        codec = CursorCodec(f"search.{request.sort}.{_digest(terms, request.filters)}")
        after = codec.decode(order, request.cursor) if request.cursor else None
        if not terms:
            return SearchResult([], 0, True, _empty_facets(), None, None)
        # The words as typed first: page, total and facets in one statement. Only when they
        # find few books (a typo is likely) is the vocabulary asked for a correction, and the
        # statement run again with both spellings.
        corrected = terms
        found = self._find(terms, corrected, request, order, casts, after)
        if found.matched < CORRECT_BELOW:
            corrected = spelling.correct(db.session, terms)
            if corrected != terms:
                found = self._find(terms, corrected, request, order, casts, after)
        hits = found.hits
        more = len(hits) > request.limit
        hits = hits[: request.limit]
        next_cursor = codec.encode(order, order.values_of(hits[-1])) if more else None
        return SearchResult(
            items=self._items(hits),
            total=min(found.total, TOTAL_EXACT_UP_TO),
            total_is_exact=found.total <= TOTAL_EXACT_UP_TO,
            facets=found.facets,
            next_cursor=next_cursor,
            did_you_mean=_did_you_mean(terms, corrected, found.spellings),
        )

    def _find(self, terms, corrected, request, order, casts, after) -> _Found:
        """One statement, one scan of the matching documents: the page (with its
        highlights), the exact total up to TOTAL_EXACT_UP_TO, every facet, the books the
        typed words match (filters aside) and, with a correction, the books each spelling
        finds (what did_you_mean weighs)."""
        params = {
            "typed": " ".join(terms),
            "fixed": " ".join(corrected),
            "page_size": request.limit + 1,
            **_filter_params(request.filters),
        }
        typed_q = "plainto_tsquery('english', :typed)"
        fixed_q = "plainto_tsquery('english', :fixed)"
        if corrected != terms:
            tsq, phrase_text = f"({typed_q} || {fixed_q})", ":fixed"
        else:
            tsq, phrase_text = typed_q, ":typed"
        phrase = (
            f"CASE WHEN document @@ phraseto_tsquery('english', {phrase_text})"
            f" THEN {PHRASE_BONUS} ELSE 0 END"
            if len(terms) > 1
            else "0"
        )
        # Without a correction every match is a match as typed: its bonus is a constant.
        as_typed = (
            f"CASE WHEN document @@ {typed_q} THEN {AS_TYPED_BONUS} ELSE 0 END"
            if corrected != terms
            else str(AS_TYPED_BONUS)
        )
        score = f"round(({as_typed} + ts_rank({WEIGHTS}, document, {tsq}) + {phrase})::numeric, 2)"
        by_facet = _conditions(request.filters)
        keys = [key.attribute for key in order.keys]
        seek = ""
        if after is not None:
            bounds = ", ".join(f"CAST(:c{i} AS {cast})" for i, cast in enumerate(casts))
            comparison = "<" if order.keys[0].descending else ">"
            seek = f" AND ({', '.join(keys)}) {comparison} ({bounds})"
            params.update({f"c{i}": value for i, value in enumerate(after)})
        direction = "DESC" if order.keys[0].descending else "ASC"
        ordering = ", ".join(f"{k} {direction}" for k in keys)
        spellings = corrected != terms
        hit_columns = (
            f", document @@ {typed_q} AS typed_hit, document @@ {fixed_q} AS fixed_hit"
            if spellings
            else ""
        )
        spelling_counts = (
            ", (SELECT count(*) FROM m WHERE typed_hit) AS typed_found,"
            " (SELECT count(*) FROM m WHERE fixed_hit) AS fixed_found"
            if spellings
            else ""
        )
        price_counts = ", ".join(
            f"count(*) FILTER (WHERE price_cents >= {low}"
            + (f" AND price_cents < {high})" if high is not None else ")")
            for low, high in PRICE_BANDS
        )
        rating_counts = ", ".join(
            f"count(*) FILTER (WHERE average_rating >= {low})" for low in RATING_BUCKETS
        )
        marks = f"StartSel={_MARK}, StopSel={_UNMARK}"
        sql = f"""
            WITH m AS MATERIALIZED (
                SELECT book_id, {score} AS score, ratings_count + sales_count AS popularity,
                       sales_count, ratings_count, average_rating, price_cents,
                       coalesce(publication_year, -32768) AS year,
                       genres, author_ids, language, in_stock{hit_columns}
                FROM search_documents WHERE document @@ {tsq}),
            page AS (
                SELECT book_id, score, popularity, sales_count, ratings_count, average_rating,
                       price_cents, year
                FROM m WHERE {_where(by_facet)}{seek} ORDER BY {ordering} LIMIT :page_size)
            SELECT
              (SELECT count(*) FROM m) AS matched,
              (SELECT count(*) FROM (SELECT 1 FROM m WHERE {_where(by_facet)}
                                     LIMIT {TOTAL_EXACT_UP_TO + 1}) t) AS total,
              (SELECT coalesce(json_agg(json_build_array(value, n) ORDER BY n DESC, value), '[]')
                 FROM (SELECT g AS value, count(*) AS n
                       FROM (SELECT unnest(genres) AS g FROM m
                             WHERE {_where(by_facet, "genres")}) u
                       GROUP BY g ORDER BY n DESC, g LIMIT {GENRE_FACET_SIZE}) x) AS genres,
              (SELECT coalesce(json_agg(json_build_array(value, n) ORDER BY n DESC, value), '[]')
                 FROM (SELECT language AS value, count(*) AS n FROM m
                       WHERE language IS NOT NULL AND {_where(by_facet, "languages")}
                       GROUP BY language) x) AS languages,
              (SELECT json_build_array({price_counts}) FROM m
                 WHERE {_where(by_facet, "price")}) AS price,
              (SELECT json_build_array({rating_counts}) FROM m
                 WHERE {_where(by_facet, "rating")}) AS rating,
              (SELECT coalesce(json_agg(json_build_array(
                        p.book_id, p.score, p.popularity, p.sales_count, p.ratings_count,
                        p.average_rating, p.price_cents, p.year,
                        ts_headline('english', d.title, {tsq}, 'HighlightAll=true, {marks}'),
                        CASE WHEN d.description IS NOT NULL THEN ts_headline('english',
                          d.description, {tsq}, 'MaxWords=30, MinWords=12, {marks}') END)
                        ORDER BY {", ".join(f"p.{k} {direction}" for k in keys)}), '[]')::text
                 FROM page p JOIN search_documents d ON d.book_id = p.book_id) AS page
              {spelling_counts}"""
        row = db.session.execute(text(sql), params).one()
        facets = {
            "genres": [{"value": v, "count": n} for v, n in _json(row.genres)],
            "languages": [{"value": v, "count": n} for v, n in _json(row.languages)],
            "price": [
                {"from_cents": low, "to_cents": high, "count": n}
                for (low, high), n in zip(PRICE_BANDS, _json(row.price), strict=True)
            ],
            "rating": [
                {"min": low, "count": n}
                for low, n in zip(RATING_BUCKETS, _json(row.rating), strict=True)
            ],
        }
        hits = [
            _Hit(uuid.UUID(values[0]), *values[1:])
            for values in json.loads(row.page, parse_float=Decimal)
        ]
        return _Found(
            hits=hits,
            matched=row.matched,
            total=row.total,
            facets=facets,
            spellings=(row.typed_found, row.fixed_found) if spellings else None,
        )

    def _items(self, hits: list[_Hit]) -> list[dict]:
        if not hits:
            return []
        ids = [hit.book_id for hit in hits]
        found = db.session.execute(select(*CARD_COLUMNS).where(Book.id.in_(ids))).all()
        by_id = {card["id"]: card for card in book_cards(found)}
        items = []
        for hit in hits:
            card = by_id.get(hit.book_id)
            if card is None:
                continue  # deleted between the two reads
            highlight = _highlight(hit)
            if highlight:
                card["highlight"] = highlight
            items.append(card)
        return items

    def suggest(self, prefix: str, limit: int = SUGGEST_LIMIT) -> list[dict]:
        terms = words(prefix)
        if not terms:
            return []
        rows = db.session.execute(
            text(
                "SELECT kind, id, text FROM search_suggestions"
                " WHERE prefixes @@ to_tsquery('simple', :tsq)"
                " ORDER BY popularity DESC, kind DESC, id LIMIT :limit"
            ),
            {"tsq": prefix_tsquery(terms), "limit": limit},
        ).all()
        return [{"type": row.kind, "id": row.id, "text": row.text} for row in rows]


def _did_you_mean(
    terms: list[str], corrected: list[str], found: tuple[int, int] | None
) -> str | None:
    """The correction, when the words as typed find few books and it finds many more."""
    if corrected == terms or found is None:
        return None
    typed, fixed = found
    if typed < FEW_RESULTS and fixed >= MANY_MORE * max(typed, 1):
        return " ".join(corrected)
    return None


def _highlight(line) -> dict:
    marked = {}
    for name in ("title", "description"):
        value = getattr(line, name)
        if value and _MARK in value:
            escaped = html.escape(value, quote=False)
            marked[name] = escaped.replace(_MARK, "<mark>").replace(_UNMARK, "</mark>")
    return marked


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


def _digest(terms: list[str], filters: SearchFilters) -> str:
    """Ties a cursor to its query and filters: a cursor from another search is refused."""
    material = json.dumps([terms, [str(v) for v in vars(filters).values()]])
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def _empty_facets() -> dict:
    return {
        "genres": [],
        "languages": [],
        "price": [{"from_cents": lo, "to_cents": hi, "count": 0} for lo, hi in PRICE_BANDS],
        "rating": [{"min": low, "count": 0} for low in RATING_BUCKETS],
    }

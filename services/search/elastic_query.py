"""Elasticsearch query bodies: relevance (fuzzy multi-match, phrase boost, popularity), the
sorts and their cursor keys, filters kept per facet, facet aggregations and their reading,
highlights and suggestion completions."""

from __future__ import annotations

import html

from sqlalchemy import literal_column

from services.pagination import SortKey, SortOrder, int_key, text_key
from services.search.backend import GENRE_FACET_SIZE, PRICE_BANDS, RATING_BUCKETS, SearchFilters
from services.search.elastic_mappings import FIELDS
from services.search.text import words

POPULARITY_WEIGHT = 3.0
_MARK, _UNMARK = "\ue000", "\ue001"  # private-use characters: never in a title


def _float_key(value) -> float:
    return float(value)


def _key(name: str, parse) -> SortKey:
    return SortKey(literal_column(name), descending=True, parse=parse)


_ID = SortKey(literal_column("book_id"), parse=text_key)
SORTS: dict[str, tuple[list, SortOrder]] = {
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


def filters_by_facet(filters: SearchFilters) -> dict[str, list[dict]]:
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


def all_but(by_facet: dict[str, list[dict]], leave_out: str | None = None) -> dict:
    clauses = [c for facet, cs in by_facet.items() if facet != leave_out for c in cs]
    return {"bool": {"filter": clauses}}


def relevance_query(terms: list[str]) -> dict:
    """Every word must match (with typos forgiven), exact words and the title phrase count
    more, and popularity adds a little."""
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
    return query


def match_all_words(terms: list[str], by_facet: dict) -> dict:
    """Books holding every word as typed (no typo forgiven), under every filter."""
    query = {"multi_match": {"query": " ".join(terms), "fields": FIELDS, "operator": "and"}}
    return {"bool": {"must": [query], **all_but(by_facet)["bool"]}}


def facet_aggregations(by_facet: dict[str, list[dict]]) -> dict:
    """Each facet counted under every filter but its own."""
    aggs = {
        "genres": {
            "filter": all_but(by_facet, "genres"),
            "aggs": {"v": {"terms": {"field": "genres", "size": GENRE_FACET_SIZE}}},
        },
        "languages": {
            "filter": all_but(by_facet, "languages"),
            "aggs": {"v": {"terms": {"field": "language", "size": 100}}},
        },
        "price": {
            "filter": all_but(by_facet, "price"),
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
            "filter": all_but(by_facet, "rating"),
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
    return aggs


HIGHLIGHT = {
    "pre_tags": [_MARK],
    "post_tags": [_UNMARK],
    "fields": {
        "title": {"number_of_fragments": 0},
        "description": {"fragment_size": 160, "number_of_fragments": 1},
    },
}


def marked(hit: dict) -> dict[str, str]:
    """The hit's highlights, HTML-escaped, its matched words in <mark>."""
    return {
        name: html.escape(fragments[0], quote=False)
        .replace(_MARK, "<mark>")
        .replace(_UNMARK, "</mark>")
        for name, fragments in hit.get("highlight", {}).items()
        if fragments
    }


def suggestion_query(terms: list[str]) -> dict:
    """Titles and authors that begin with each typed word."""
    return {
        "multi_match": {
            "query": " ".join(terms),
            "fields": ["title.prefix", "authors.prefix"],
            "operator": "and",
        }
    }


# The authors of the matching books, each with its books' popularity, for author suggestions.
AUTHOR_SUGGESTIONS = {
    "authors": {
        "terms": {"field": "author_keys", "size": 50},
        "aggs": {"popularity": {"sum": {"field": "popularity"}}},
    }
}


def completes(terms: list[str], name: str) -> bool:
    """Every typed word begins a word of the (folded) name."""
    name_words = words(name)
    return all(any(w.startswith(term) for w in name_words) for term in terms)


def facets(aggs: dict) -> dict:
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

"""The Elasticsearch index's shape: its alias, analyzers (english stemming, accent folding,
edge n-grams for suggestions), explicit mappings, the weighted fields searched, and the digest
of all that which names the indexes built with it."""

from __future__ import annotations

import hashlib
import json

ALIAS = "books"
BULK_CHUNK = 500
WRITE_TIMEOUT = 120.0  # bulk writes and refreshes of a whole index take longer than reads

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

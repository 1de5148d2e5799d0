"""The one search interface both engines implement, and the shapes it takes and gives."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from services.errors import DomainError

SORTS = ("relevance", "bestselling", "rating", "price", "-price", "newest")
# `total` is counted exactly up to this many matches, and is a lower bound beyond.
TOTAL_EXACT_UP_TO = 10_000
# Fixed price bands of the price facet: [from, to) in cents, the last one open.
PRICE_BANDS: tuple[tuple[int, int | None], ...] = (
    (0, 1000),
    (1000, 2000),
    (2000, 3000),
    (3000, 4000),
    (4000, None),
)
RATING_BUCKETS = (4, 3, 2)
GENRE_FACET_SIZE = 20
SUGGEST_LIMIT = 10


class SearchUnavailable(DomainError):
    """The search engine cannot be reached."""

    error = "search_unavailable"


@dataclass(frozen=True)
class SearchFilters:
    genre: str | None = None
    author: uuid.UUID | None = None
    language: str | None = None
    price_min: int | None = None
    price_max: int | None = None
    rating_min: Decimal | None = None
    in_stock: bool | None = None


@dataclass(frozen=True)
class SearchRequest:
    q: str
    filters: SearchFilters = field(default_factory=SearchFilters)
    sort: str = "relevance"
    limit: int = 20
    cursor: str | None = None


@dataclass
class SearchResult:
    items: list[dict]
    total: int
    total_is_exact: bool
    facets: dict
    next_cursor: str | None
    did_you_mean: str | None


class SearchBackend(Protocol):
    name: str

    def search(self, request: SearchRequest) -> SearchResult: ...

    def suggest(self, prefix: str, limit: int = SUGGEST_LIMIT) -> list[dict]: ...

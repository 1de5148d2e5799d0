"""Catalog cache generations, kept in Redis and shared by every process.

Cached catalog pages carry the *catalog* generation in their keys: ``invalidate()`` (a book,
its authors, genres or price changed) makes them all stale at once. Stock moves far more
often (every checkout), so it has a generation of its own: ``stock_changed()`` bumps it, and a
cached page built under an older stock generation is served until it is
``CATALOG_STOCK_STALENESS_SECONDS`` old (setting) before it is rebuilt. Browsing may thus show
availability a moment old; reservation always checks the real stock."""

from __future__ import annotations

import time

import redis

CATALOG_KEY = "bookstore:catalog:generation"
STOCK_KEY = "bookstore:catalog:stock-generation"
_client: redis.Redis | None = None


def init(url: str) -> None:
    global _client
    _client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def _redis() -> redis.Redis:
    assert _client is not None, "catalog_cache.init() was not called"
    return _client


def client() -> redis.Redis:
    """The shared Redis client (other caches keep their own generations beside these)."""
    return _redis()


def generation() -> int:
    return generations()[0]


def generations() -> tuple[int, int]:
    """(catalog generation, stock generation), read in one round trip."""
    catalog, stock = _redis().mget(CATALOG_KEY, STOCK_KEY)
    return int(catalog or 0), int(stock or 0)


def invalidate() -> None:
    """Call after committing any change to a book, its genres/authors or its price."""
    _redis().incr(CATALOG_KEY)


def stock_changed() -> None:
    """Call after committing a change of on-hand or reserved stock."""
    _redis().incr(STOCK_KEY)


PAGE_PREFIX = "bookstore:catalog-page:"


FRONT_PREFIX = "bookstore:catalog-front:"  # whole answers app.page_front keeps by URL


def read_page(key: str, prefix: str = PAGE_PREFIX) -> tuple[int, int, bytes | None]:
    """(catalog generation, stock generation, the stored page under ``key``) in one round
    trip: a cached read costs one Redis call."""
    catalog, stock, page = _redis().mget(CATALOG_KEY, STOCK_KEY, prefix + key)
    return int(catalog or 0), int(stock or 0), page


def store_page(key: str, page: bytes, seconds: int, prefix: str = PAGE_PREFIX) -> None:
    _redis().set(prefix + key, page, ex=seconds)


def page_header(generation: int, stock_generation: int, etag: str) -> str:
    """The line a stored page starts with: the generations it was built under, when, its ETag."""
    return f"{generation} {stock_generation} {time.time():.3f} {etag}"


def still_good(header: str, generation: int, stock_generation: int, staleness: float) -> bool:
    """Whether a page with this header may be served now: built under the current catalog
    generation, and under the current stock generation or less than ``staleness`` seconds
    ago. Raises ValueError for a header not of this format."""
    built_generation, built_stock, built_at, _etag = header.split(" ")
    if int(built_generation) != generation:
        return False
    return int(built_stock) == stock_generation or time.time() - float(built_at) <= staleness

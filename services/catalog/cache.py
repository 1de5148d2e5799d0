"""Catalog cache generations, kept in Redis and shared by every process.

Cached catalog pages carry the *catalog* generation in their keys: ``invalidate()`` (a book,
its authors, genres or price changed) makes them all stale at once. Stock moves far more
often (every checkout), so it has a generation of its own: ``stock_changed()`` bumps it, and a
cached page built under an older stock generation is served until it is
``CATALOG_STOCK_STALENESS_SECONDS`` old (setting) before it is rebuilt. Browsing may thus show
availability a moment old; reservation always checks the real stock."""

from __future__ import annotations

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


def read_page(key: str) -> tuple[int, int, bytes | None]:
    """(catalog generation, stock generation, the stored page under ``key``) in one round
    trip: a cached read costs one Redis call."""
    catalog, stock, page = _redis().mget(CATALOG_KEY, STOCK_KEY, PAGE_PREFIX + key)
    return int(catalog or 0), int(stock or 0), page


def store_page(key: str, page: bytes, seconds: int) -> None:
    _redis().set(PAGE_PREFIX + key, page, ex=seconds)

"""Catalog cache generation: cached catalog pages carry it in their keys; bumping it
invalidates them all at once (a book, its price or its stock changed)."""

from __future__ import annotations

import redis

GENERATION_KEY = "bookstore:catalog:generation"
_client: redis.Redis | None = None


def init(url: str) -> None:
    global _client
    _client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)


def generation() -> int:
    assert _client is not None, "catalog_cache.init() was not called"
    return int(_client.get(GENERATION_KEY) or 0)


def invalidate() -> None:
    """Call after committing any change to a book, its genres/authors or its stock."""
    assert _client is not None, "catalog_cache.init() was not called"
    _client.incr(GENERATION_KEY)

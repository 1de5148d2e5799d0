"""HTTP caching of catalog reads: bodies cached in Redis under the catalog generation,
strong ETags, Cache-Control, and 304 answers to a matching If-None-Match."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Mapping

import redis
from flask import Response, current_app, request

from app.extensions import cache
from services.catalog import cache as catalog_cache
from services.observability import metrics

log = logging.getLogger(__name__)

# The headers of every catalog read, for the OpenAPI document (app.api.base.contract).
CATALOG_HEADERS = {
    "request_headers": ["If-None-Match"],
    "response_headers": {200: ["ETag", "Cache-Control"], 304: ["ETag", "Cache-Control"]},
}


def catalog_response(
    namespace: str,
    params: Mapping,
    produce: Callable[[], dict],
    timeout: int | None = None,
    cached: bool = True,
) -> Response:
    """Answer a catalog GET from the cache, or from ``produce()`` (then cache the body).

    ``params`` must hold every input the body depends on (the normalised query and path).
    The key carries the catalog generation, so ``catalog_cache.invalidate()`` makes every
    cached body stale at once; a body built under an older stock generation is rebuilt once
    it is older than the CATALOG_STOCK_STALENESS_SECONDS setting. Domain errors raised by
    ``produce`` are never cached. ``timeout``: seconds in Redis (default
    CATALOG_CACHE_SECONDS); ``cached=False`` computes the body every time (same headers)."""
    key, stock_generation = _cache_key(namespace, params) if cached else (None, 0)
    entry = _cache_get(key) if key else None
    if entry is not None and _stock_stale(entry, stock_generation):
        entry = None
    if key:
        metrics.CACHE_REQUESTS.labels(namespace, "miss" if entry is None else "hit").inc()
    if entry is None:
        body = json.dumps(produce(), separators=(",", ":"), ensure_ascii=False)
        entry = {
            "body": body,
            "etag": hashlib.sha256(body.encode()).hexdigest()[:32],
            "stock": stock_generation,
            "built": time.time(),
        }
        if key:
            _cache_set(key, entry, timeout)
    return _answer(entry["body"], entry["etag"])


def _stock_stale(entry: dict, stock_generation: int) -> bool:
    if entry.get("stock") == stock_generation:
        return False
    staleness = current_app.config["CATALOG_STOCK_STALENESS_SECONDS"]
    return time.time() - entry.get("built", 0) > staleness


def _answer(body: str, etag: str) -> Response:
    if request.if_none_match.contains_weak(etag):
        response = current_app.response_class(status=304)
    else:
        response = current_app.response_class(body, mimetype="application/json")
    response.set_etag(etag)
    max_age = current_app.config["CATALOG_HTTP_MAX_AGE_SECONDS"]
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    return response


def _cache_key(namespace: str, params: Mapping) -> tuple[str | None, int]:
    """(key, stock generation); no key when Redis cannot be reached: served uncached."""
    try:
        generation, stock_generation = catalog_cache.generations()
    except redis.RedisError:
        log.warning("catalog cache unavailable; serving %s uncached", namespace, exc_info=True)
        return None, 0
    normalised = json.dumps(params, sort_keys=True, default=str, separators=(",", ":"))
    digest = hashlib.sha256(normalised.encode()).hexdigest()[:40]
    return f"catalog:{namespace}:g{generation}:{digest}", stock_generation


def _cache_get(key: str) -> dict | None:
    try:
        return cache.get(key)
    except redis.RedisError:
        log.warning("catalog cache read failed", exc_info=True)
        return None


def _cache_set(key: str, entry: dict, timeout: int | None) -> None:
    try:
        cache.set(key, entry, timeout=timeout)
    except redis.RedisError:
        log.warning("catalog cache write failed", exc_info=True)

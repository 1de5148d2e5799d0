"""HTTP caching of catalog reads: bodies cached in Redis under the catalog generation,
strong ETags, Cache-Control, and 304 answers to a matching If-None-Match."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping

import redis
from flask import Response, current_app, request

from app.extensions import cache
from services import catalog_cache

log = logging.getLogger(__name__)


def catalog_response(namespace: str, params: Mapping, produce: Callable[[], dict]) -> Response:
    """Answer a catalog GET from the cache, or from ``produce()`` (then cache the body).

    ``params`` must hold every input the body depends on (the normalised query and path).
    The key carries the catalog generation, so ``catalog_cache.invalidate()`` makes every
    cached body stale at once; domain errors raised by ``produce`` are never cached."""
    key = _cache_key(namespace, params)
    entry = _cache_get(key) if key else None
    if entry is None:
        body = json.dumps(produce(), separators=(",", ":"), ensure_ascii=False)
        entry = {"body": body, "etag": hashlib.sha256(body.encode()).hexdigest()[:32]}
        if key:
            _cache_set(key, entry)
    return _answer(entry["body"], entry["etag"])


def _answer(body: str, etag: str) -> Response:
    if request.if_none_match.contains_weak(etag):
        response = current_app.response_class(status=304)
    else:
        response = current_app.response_class(body, mimetype="application/json")
    response.set_etag(etag)
    max_age = current_app.config["CATALOG_HTTP_MAX_AGE_SECONDS"]
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    return response


def _cache_key(namespace: str, params: Mapping) -> str | None:
    """None when Redis cannot be reached: the catalog is then served uncached."""
    try:
        generation = catalog_cache.generation()
    except redis.RedisError:
        log.warning("catalog cache unavailable; serving %s uncached", namespace, exc_info=True)
        return None
    normalised = json.dumps(params, sort_keys=True, default=str, separators=(",", ":"))
    digest = hashlib.sha256(normalised.encode()).hexdigest()[:40]
    return f"catalog:{namespace}:g{generation}:{digest}"


def _cache_get(key: str) -> dict | None:
    try:
        return cache.get(key)
    except redis.RedisError:
        log.warning("catalog cache read failed", exc_info=True)
        return None


def _cache_set(key: str, entry: dict) -> None:
    try:
        cache.set(key, entry)
    except redis.RedisError:
        log.warning("catalog cache write failed", exc_info=True)
